/**
 * Invoice lines (contract §4) from priced lines, and late-event adjustments (rating-rules G7).
 */
import { createHash } from "node:crypto";
import type { Account } from "../../contract/accounts.js";
import { type InvoiceLine, invoiceLineColumns } from "../../contract/invoice-line.js";
import { Dec, dec, formatDecimal, formatMoney, ZERO } from "../money.js";
import type { PeriodId } from "../time.js";
import { dimensionsKey, type PricedLine } from "./pricing.js";

/** Deterministic id: the same inputs give the same id on every run (contract §4). */
function lineId(parts: string[]): string {
  return `L-${createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 20)}`;
}

export function toInvoiceLine(
  account: Account,
  currency: string,
  period: PeriodId,
  referencePeriod: PeriodId,
  l: PricedLine,
): InvoiceLine {
  const dimensions = dimensionsKey(l.dimensions);
  const unitPrice = formatDecimal(l.unitPrice);
  return {
    account_id: account.accountId,
    period,
    line_id: lineId([
      account.accountId,
      period,
      referencePeriod,
      l.lineType,
      l.product,
      dimensions,
      l.tariffVersion,
      unitPrice,
    ]),
    line_type: l.lineType,
    product: l.product,
    dimensions,
    description: l.description,
    quantity: formatDecimal(l.quantity),
    unit: l.unit,
    unit_price: unitPrice,
    amount: formatMoney(l.amount, currency),
    currency,
    billing_channel: account.billingChannel,
    reference_period: referencePeriod,
    tariff_version: l.tariffVersion,
  };
}

/** Contract §4 order: account_id, reference_period, line_type, product, dimensions (then id, for stability). */
export function sortInvoiceLines(lines: InvoiceLine[]): InvoiceLine[] {
  const key = (l: InvoiceLine) => [
    l.account_id,
    l.reference_period,
    l.line_type,
    l.product,
    l.dimensions,
    l.line_id,
  ];
  return [...lines].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      if (ka[i]! < kb[i]!) return -1;
      if (ka[i]! > kb[i]!) return 1;
    }
    return 0;
  });
}

/**
 * G7: the difference between a re-rated closed period and every line already emitted for it
 * (its own close plus earlier adjustments), per product, dimensions, tariff version and unit price.
 * Billed lines become `adjustment` lines whose amount is the difference of rounded amounts, so
 * totals reconcile; informational (G2) differences stay informational.
 */
export function adjustmentLines(
  account: Account,
  currency: string,
  closePeriod: PeriodId,
  referencePeriod: PeriodId,
  alreadyEmitted: readonly InvoiceLine[],
  rerated: readonly PricedLine[],
): InvoiceLine[] {
  type Sum = { quantity: Dec; amount: Dec; sample: PricedLine | InvoiceLine };
  const cls = (t: string) => (t === "informational" ? "informational" : "billed");
  const sums = new Map<string, { before: Sum; after: Sum }>();
  const slot = (k: string, sample: PricedLine | InvoiceLine) => {
    let s = sums.get(k);
    if (!s) {
      s = {
        before: { quantity: ZERO, amount: ZERO, sample },
        after: { quantity: ZERO, amount: ZERO, sample },
      };
      sums.set(k, s);
    }
    return s;
  };
  for (const l of alreadyEmitted) {
    if (l.reference_period !== referencePeriod) continue;
    const k = [
      cls(l.line_type),
      l.product,
      l.dimensions,
      l.tariff_version,
      formatDecimal(dec(l.unit_price)),
    ].join("|");
    const s = slot(k, l).before;
    s.quantity = s.quantity.plus(l.quantity);
    s.amount = s.amount.plus(l.amount);
  }
  for (const l of rerated) {
    const k = [
      cls(l.lineType),
      l.product,
      dimensionsKey(l.dimensions),
      l.tariffVersion,
      formatDecimal(l.unitPrice),
    ].join("|");
    const s = slot(k, l).after;
    s.sample = l;
    s.quantity = s.quantity.plus(l.quantity);
    s.amount = s.amount.plus(l.amount);
  }
  const out: InvoiceLine[] = [];
  for (const [k, { before, after }] of sums) {
    const dq = after.quantity.minus(before.quantity);
    const da = after.amount.minus(before.amount);
    if (dq.isZero() && da.isZero()) continue;
    const [klass, product, dimensions, tariffVersion, unitPrice] = k.split("|") as [
      string,
      string,
      string,
      string,
      string,
    ];
    const informational = klass === "informational";
    const sample = after.sample;
    const originalType = "lineType" in sample ? sample.lineType : sample.line_type;
    const unit = sample.unit;
    const lineType = informational ? "informational" : "adjustment";
    out.push({
      account_id: account.accountId,
      period: closePeriod,
      line_id: lineId([
        account.accountId,
        closePeriod,
        referencePeriod,
        lineType,
        product,
        dimensions,
        tariffVersion,
        unitPrice,
      ]),
      line_type: lineType,
      product,
      dimensions,
      description: `adjustment of ${referencePeriod} ${originalType} ${product}${dimensions ? ` (${dimensions})` : ""}: late events`,
      quantity: formatDecimal(dq),
      unit,
      unit_price: unitPrice,
      amount: formatMoney(da, currency),
      currency,
      billing_channel: account.billingChannel,
      reference_period: referencePeriod,
      tariff_version: tariffVersion,
    });
  }
  return out;
}

const csvCell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

export function invoiceLinesToCsv(lines: readonly InvoiceLine[]): string {
  const rows = [invoiceLineColumns.join(",")];
  for (const l of lines) rows.push(invoiceLineColumns.map((c) => csvCell(l[c])).join(","));
  return `${rows.join("\n")}\n`;
}

export const sumAmounts = (lines: readonly InvoiceLine[]): Dec =>
  lines.reduce((s, l) => s.plus(l.amount), new Dec(0));

/**
 * Invoice lines (contract §4) from priced lines, and late-event adjustments (rating-rules G7).
 */
import { createHash } from "node:crypto";
import type { Account } from "../../contract/accounts.js";
import { type InvoiceLine, invoiceLineColumns } from "../../contract/invoice-line.js";
import { compositeKey } from "../keys.js";
import { type Dec, dec, formatDecimal, formatMoney, ZERO } from "../money.js";
import type { PeriodId } from "../time.js";
import { dimensionsKey, type PricedLine } from "./pricing.js";

/**
 * Deterministic id: the same inputs give the same id on every run (contract §4). The parts are
 * hashed as a JSON array, an injective encoding, so no two different part lists share an input.
 */
function lineId(parts: string[]): string {
  return `L-${createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 20)}`;
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
  type Sum = { quantity: Dec; amount: Dec };
  /** What an adjustment is computed per (G7). Kept as values; the map key is only their encoding. */
  interface Group {
    readonly klass: "informational" | "billed";
    readonly product: string;
    /** The invoice-line form (contract §4); injective because values hold no `;` or `=` (contract §1). */
    readonly dimensions: string;
    readonly tariffVersion: string;
    readonly unitPrice: string;
    before: Sum;
    after: Sum;
    sample: PricedLine | InvoiceLine;
  }
  const cls = (t: string) => (t === "informational" ? "informational" : "billed");
  const groups = new Map<string, Group>();
  const groupOf = (
    g: Pick<Group, "klass" | "product" | "dimensions" | "tariffVersion" | "unitPrice">,
    sample: PricedLine | InvoiceLine,
  ): Group => {
    const k = compositeKey(g.klass, g.product, g.dimensions, g.tariffVersion, g.unitPrice);
    let s = groups.get(k);
    if (!s) {
      s = {
        ...g,
        before: { quantity: ZERO, amount: ZERO },
        after: { quantity: ZERO, amount: ZERO },
        sample,
      };
      groups.set(k, s);
    }
    return s;
  };
  for (const l of alreadyEmitted) {
    if (l.reference_period !== referencePeriod) continue;
    const g = groupOf(
      {
        klass: cls(l.line_type),
        product: l.product,
        dimensions: l.dimensions,
        tariffVersion: l.tariff_version,
        unitPrice: formatDecimal(dec(l.unit_price)),
      },
      l,
    );
    g.before.quantity = g.before.quantity.plus(l.quantity);
    g.before.amount = g.before.amount.plus(l.amount);
  }
  for (const l of rerated) {
    const g = groupOf(
      {
        klass: cls(l.lineType),
        product: l.product,
        dimensions: dimensionsKey(l.dimensions),
        tariffVersion: l.tariffVersion,
        unitPrice: formatDecimal(l.unitPrice),
      },
      l,
    );
    g.sample = l;
    g.after.quantity = g.after.quantity.plus(l.quantity);
    g.after.amount = g.after.amount.plus(l.amount);
  }
  const out: InvoiceLine[] = [];
  for (const {
    klass,
    product,
    dimensions,
    tariffVersion,
    unitPrice,
    before,
    after,
    sample,
  } of groups.values()) {
    const dq = after.quantity.minus(before.quantity);
    const da = after.amount.minus(before.amount);
    if (dq.isZero() && da.isZero()) continue;
    const informational = klass === "informational";
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

/** The CSV header row (contract §4), without its line end. */
export const invoiceLinesCsvHeader = invoiceLineColumns.join(",");
export const INVOICE_LINES_CSV_HEADER = invoiceLinesCsvHeader;
/** One line as a CSV row, without its line end: rows can be streamed one by one. */
export const invoiceLineCsvRow = (l: InvoiceLine) => invoiceLineColumns.map((c) => csvCell(l[c])).join(",");

export function invoiceLinesToCsv(lines: readonly InvoiceLine[]): string {
  return `${[invoiceLinesCsvHeader, ...lines.map(invoiceLineCsvRow)].join("\n")}\n`;
}

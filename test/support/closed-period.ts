/**
 * A closed period of many accounts, built without rating (the readers' tests and bench:finance):
 * each account has 1–`maxLines` usage lines of SMS by country and network, and every `adjustEvery`th
 * account also an adjustment of the previous period (its report lists it, so readers query two
 * reference periods for it), as a close would store them. Deterministic by account index.
 */
import { createHash } from "node:crypto";
import type { ClosedAccountLoad } from "../../shared/adapters/dynamodb/closed-period-bulk-load.js";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import type { AccountCloseReport } from "../../shared/core/close-report.js";
import { shiftPeriod } from "../../shared/core/time.js";

const COUNTRIES = ["TR", "DE", "FR", "GB", "US", "IT", "ES", "NL", "BR", "IN"];
const NETWORKS = ["n1", "n2", "n3", "n4"];
const emptyList = { count: 0, samples: [], chunks: 0, where: null };

export const closedAccountId = (i: number) => `acct-${String(i).padStart(6, "0")}`;

export function closedAccountLoad(
  i: number,
  period: string,
  opts: { maxLines?: number; adjustEvery?: number; accountId?: string } = {},
): ClosedAccountLoad {
  const accountId = opts.accountId ?? closedAccountId(i);
  const maxLines = opts.maxLines ?? 8;
  const adjustEvery = opts.adjustEvery ?? 10;
  const line = (n: number, reference: string, type: InvoiceLine["line_type"]): InvoiceLine => {
    const country = COUNTRIES[n % COUNTRIES.length] as string;
    const network = NETWORKS[Math.floor(n / COUNTRIES.length) % NETWORKS.length] as string;
    const quantity = String(((i * 7 + n * 13) % 997) + 1);
    return {
      account_id: accountId,
      period,
      line_id: `L-${createHash("sha256").update(`${accountId}|${reference}|${n}`).digest("hex").slice(0, 20)}`,
      line_type: type,
      product: "sms.mt",
      dimensions: `country=${country};network=${network}`,
      description: `SMS to ${country} (${network})`,
      quantity,
      unit: "message",
      unit_price: "0.0100",
      amount: (Number(quantity) / 100).toFixed(2),
      currency: "EUR",
      billing_channel: "direct",
      reference_period: reference,
      tariff_version: "2025-01-01",
    };
  };
  const lines = Array.from({ length: 1 + (i % maxLines) }, (_, n) => line(n, period, "usage"));
  const previous = shiftPeriod(period, -1);
  const adjusted = adjustEvery > 0 && i % adjustEvery === 0;
  if (adjusted) lines.push(line(99, previous, "adjustment"));
  const amount = lines.reduce((s, l) => s + Number(l.amount), 0).toFixed(2);
  const report: AccountCloseReport = {
    accountId,
    period,
    status: "closed",
    billingChannel: "direct",
    currency: "EUR",
    closedAt: "2025-08-01T02:00:00.000Z",
    events: lines.length * 10,
    lines: lines.length,
    totals: { amount, invoicedByProvider: "0.00", byLineType: { usage: amount } },
    adjustments: adjusted
      ? [{ referencePeriod: previous, amount: (lines.at(-1) as InvoiceLine).amount, lines: 1 }]
      : [],
    suspense: { ...emptyList, events: 0 },
    suspenseCarried: [],
    unclosedEarlierPeriods: [],
    conflicts: emptyList,
    rejectedMessages: emptyList,
    compliance: {},
  };
  return { accountId, period, closedAt: Date.parse("2025-08-01T02:00:00Z"), report, lines };
}

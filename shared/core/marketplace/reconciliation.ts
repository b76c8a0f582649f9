/**
 * Marketplace reconciliation (issue 11), pure: per account, billing month and
 * Marketplace dimension, what our rating says is owed above the plan and what the Marketplace took.
 *
 * - rated: the month's cumulative quantity of the dimension from the product rules (usage.ts),
 *   over the account's events up to the month's end (and the rules' look-ahead after it, or `now`);
 * - included: the plan's included quantity; overage = max(0, rated − included);
 * - accepted / rejected / pending: the parts of the usage records attributed to the month
 *   (`byPeriod`), by the record's status (rejected = Expired or any other refusal);
 * - expired: the part of `rejected` Microsoft will never take because its hour is past the
 *   Marketplace's 24 hours (the reporter reached it too late, or the Marketplace answered Expired):
 *   revenue to recover by hand. The column comes last so the earlier ones keep their places;
 * - status: `reconciled` when accepted = overage, `short` when less (pending, refused, or not yet
 *   reported), `over` when more (usage that went down after it was reported).
 */
import type { Account } from "../../contract/accounts.js";
import { type Dec, formatDecimal, ZERO } from "../money.js";
import type { CarriedFacts } from "../rating/carry.js";
import { RATING_LOOKAHEAD } from "../rating/engine.js";
import { canonicalOrder } from "../rating/ordering.js";
import type { LedgerEvent } from "../rating/types.js";
import { type PeriodId, periodWindow } from "../time.js";
import { cumulativeByDimension, includedQuantityOf } from "./usage.js";

export const RECONCILIATION_CSV_HEADER = [
  "account_id",
  "period",
  "resource_id",
  "plan_id",
  "dimension",
  "rated_quantity",
  "included_quantity",
  "overage_quantity",
  "accepted_quantity",
  "rejected_quantity",
  "pending_quantity",
  "status",
  "expired_quantity",
] as const;

export type ReconciliationStatus = "reconciled" | "short" | "over";

export interface ReconciliationRow {
  readonly accountId: string;
  readonly period: PeriodId;
  readonly resourceId: string;
  readonly planId: string;
  readonly dimension: string;
  readonly rated: Dec;
  readonly included: Dec;
  readonly overage: Dec;
  readonly accepted: Dec;
  readonly rejected: Dec;
  readonly pending: Dec;
  readonly status: ReconciliationStatus;
  /** Part of `rejected` whose hour expired (never billed by Microsoft). */
  readonly expired: Dec;
}

/** A usage record as reconciliation needs it. */
export interface ReconciledRecord {
  readonly dimension: string;
  readonly status: "pending" | "accepted" | "expired" | "rejected";
  readonly byPeriod: Readonly<Record<PeriodId, string>>;
}

/** RFC 4180 cell: quoted when it holds a quote, comma or line break. */
const csvCell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
export const csvRow = (cells: readonly string[]): string => cells.map(csvCell).join(",");

/**
 * One row per dimension of the account's plan (sorted), for the billing month `period`. `carried`:
 * the carry-over snapshot at the month's start, standing for every earlier event (usage.ts).
 */
export function reconcileMarketplace(
  account: Account,
  period: PeriodId,
  events: readonly LedgerEvent[],
  records: readonly ReconciledRecord[],
  now: number,
  carried?: CarriedFacts,
): ReconciliationRow[] {
  const azure = account.azure;
  if (!azure) return [];
  const window = periodWindow(period, account.timezone);
  const ordered = canonicalOrder(events.filter((e) => e.subject === account.accountId));
  const rated = cumulativeByDimension(
    account,
    window,
    ordered,
    Math.min(now, window.end + RATING_LOOKAHEAD),
    carried,
  );
  const dimensions = [...new Set(Object.values(azure.dimensions))].sort();
  return dimensions.map((dimension) => {
    const sum = (statuses: readonly ReconciledRecord["status"][]) =>
      records
        .filter((r) => r.dimension === dimension && statuses.includes(r.status))
        .reduce((s, r) => {
          const part = r.byPeriod[period];
          return part !== undefined ? s.plus(part) : s;
        }, ZERO);
    const q = rated.get(dimension) ?? ZERO;
    const included = includedQuantityOf(account, dimension);
    const over = q.minus(included);
    const overage = over.isPositive() && !over.isZero() ? over : ZERO;
    const accepted = sum(["accepted"]);
    const cmp = accepted.comparedTo(overage);
    return {
      accountId: account.accountId,
      period,
      resourceId: azure.resourceId,
      planId: azure.planId,
      dimension,
      rated: q,
      included,
      overage,
      accepted,
      rejected: sum(["expired", "rejected"]),
      pending: sum(["pending"]),
      status: cmp === 0 ? "reconciled" : cmp < 0 ? "short" : "over",
      expired: sum(["expired"]),
    };
  });
}

/** `marketplace-reconciliation.csv`: the header, then one line per row (RFC 4180 quoting, LF ends). */
export function reconciliationCsv(rows: readonly ReconciliationRow[]): string {
  const lines = [
    csvRow([...RECONCILIATION_CSV_HEADER]),
    ...rows.map((r) =>
      csvRow([
        r.accountId,
        r.period,
        r.resourceId,
        r.planId,
        r.dimension,
        formatDecimal(r.rated),
        formatDecimal(r.included),
        formatDecimal(r.overage),
        formatDecimal(r.accepted),
        formatDecimal(r.rejected),
        formatDecimal(r.pending),
        r.status,
        formatDecimal(r.expired),
      ]),
    ),
  ];
  return `${lines.join("\n")}\n`;
}

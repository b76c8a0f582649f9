/**
 * Marketplace reconciliation of a billing month (issue 11): per azure-marketplace account and
 * Marketplace dimension, rated, included and overage quantities against what the usage records say
 * the Marketplace accepted, refused or has not answered yet (core/marketplace/reconciliation.ts).
 * Reads per account: the month's events (plus the rules' look-ahead) and the carry-over snapshot at
 * its start (marketplace-ledger.ts: not the account's whole history), and its usage records from
 * the month's first hour on — one Query per dimension, never a table scan.
 */

import { compareStrings } from "../core/compare.js";
import type { BillingConfig } from "../core/config.js";
import { type ReconciliationRow, reconcileMarketplace } from "../core/marketplace/reconciliation.js";
import { hourStartOf } from "../core/marketplace/usage.js";
import { RATING_LOOKAHEAD } from "../core/rating/engine.js";
import { HOUR, type PeriodId, periodWindow } from "../core/time.js";
import type { Clock } from "../ports/clock.js";
import type { MarketplaceStore, MarketplaceUsageRecord } from "../ports/marketplace.js";
import type { LedgerStore } from "../ports/storage.js";
import { loadMarketplaceLedger } from "./marketplace-ledger.js";

export interface ReconcileDeps {
  readonly ledger: LedgerStore;
  readonly store: MarketplaceStore;
  readonly clock: Clock;
  readonly config: () => Promise<BillingConfig>;
}

export async function reconcileMarketplaceUsage(
  deps: ReconcileDeps,
  period: PeriodId,
  opts: { readonly accountIds?: readonly string[] } = {},
): Promise<ReconciliationRow[]> {
  const now = deps.clock.now();
  const config = await deps.config();
  const rows: ReconciliationRow[] = [];
  for (const account of config.accounts) {
    if (account.billingChannel !== "azure-marketplace" || !account.azure) continue;
    if (opts.accountIds && !opts.accountIds.includes(account.accountId)) continue;
    const window = periodWindow(period, account.timezone);
    const [ledger, records] = await Promise.all([
      loadMarketplaceLedger(deps.ledger, account, period, Math.min(now, window.end + RATING_LOOKAHEAD)),
      deps.store.usageRecords(account.accountId, {
        fromHour: hourStartOf(window.start) - HOUR,
        dimensions: [...new Set(Object.values(account.azure.dimensions))],
      }),
    ]);
    rows.push(
      ...reconcileMarketplace(account, period, ledger.events, records, now, ledger.carried.get(period)),
    );
  }
  return rows;
}

export const USAGE_EVENTS_CSV_HEADER = [
  "account_id",
  "resource_id",
  "plan_id",
  "dimension",
  "effective_start_time",
  "quantity_computed",
  "quantity_sent",
  "status",
  "marketplace_status",
  "accepted_quantity",
  "usage_event_id",
  "reason",
] as const;

const csvCell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/**
 * `marketplace-usage-events.csv`: one line per usage event we decided to send (per resource,
 * dimension and hour): the quantity computed, the quantity sent (the JSON number), our status, the
 * Marketplace's status and what it holds, and Microsoft's message or our note.
 */
export function usageEventsCsv(records: readonly MarketplaceUsageRecord[]): string {
  const rows = [USAGE_EVENTS_CSV_HEADER.join(",")];
  const sorted = [...records].sort(
    (a, b) =>
      a.hour - b.hour || compareStrings(a.accountId, b.accountId) || compareStrings(a.dimension, b.dimension),
  );
  for (const r of sorted)
    rows.push(
      [
        r.accountId,
        r.resourceId,
        r.planId,
        r.dimension,
        r.effectiveStartTime,
        r.quantity,
        String(Number(r.quantity)),
        r.status,
        r.marketplaceStatus ?? "",
        r.acceptedQuantity ?? "",
        r.usageEventId ?? "",
        r.reason ?? (r.status === "pending" ? (r.lastError ?? "") : ""),
      ]
        .map(csvCell)
        .join(","),
    );
  return `${rows.join("\n")}\n`;
}

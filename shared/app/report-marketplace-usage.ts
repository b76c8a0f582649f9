/**
 * The hourly Marketplace reporter (rating-rules §6): for every account billed through the Microsoft
 * Marketplace, report the usage above the plan's included quantities, one usage event per
 * dimension and completed hour (what is reported: shared/core/marketplace/usage.ts).
 *
 * A run prepares each azure-marketplace account (marketplace-account-hours.ts: the hours after its
 * watermark, their records written pending, or expired when the Marketplace no longer takes them,
 * then the watermark moved); then all runs' events — new ones and those still pending from earlier
 * runs — go out in batches of at most 25 (the client retries 429/5xx/timeouts within `deadline`,
 * so a run ends before the Lambda does), and each answer is recorded by its status
 * (marketplace-answers.ts).
 * The run report counts refusals (`rejectedEvents`), events pending 20 hours after their hour ended
 * (`overduePending`) and batches left for the time budget: the handler's metrics and alarms watch
 * them. Because the records are written before the call and the watermark only after them, a crash
 * at any point neither loses an hour nor reports one twice. Runs should not overlap (one scheduled
 * invocation at a time); if they do, the conditional writes still keep one event per hour.
 */
import type { BillingConfig } from "../core/config.js";
import {
  batches,
  hourStartOf,
  reportingBoundaries,
  type UsageEventRequest,
} from "../core/marketplace/usage.js";
import { formatDecimal, ZERO } from "../core/money.js";
import { HOUR } from "../core/time.js";
import type { AdvancingClock, Clock } from "../ports/clock.js";
import type {
  MarketplaceMeteringClient,
  MarketplaceStore,
  MarketplaceUsageRecord,
  UsageEventResult,
} from "../ports/marketplace.js";
import type { LedgerStore } from "../ports/storage.js";
import { prepareAccount } from "./marketplace-account-hours.js";
import {
  type AccountMarketplaceReport,
  answered,
  failedCall,
  type MarketplaceRunReport,
  type ReportedUsageEvent,
  type UsageEventOutcome,
} from "./marketplace-answers.js";

// The run report's types, importable from here as well as from marketplace-answers.ts.
export type {
  AccountMarketplaceReport,
  MarketplaceRunReport,
  ReportedUsageEvent,
  UsageEventOutcome,
} from "./marketplace-answers.js";

export interface MarketplaceReporterDeps {
  readonly ledger: LedgerStore;
  readonly store: MarketplaceStore;
  readonly client: MarketplaceMeteringClient;
  readonly clock: Clock;
  readonly config: () => Promise<BillingConfig>;
  /**
   * Folds the account's journal before its raw events are read (fold-usage.ts foldForAccount):
   * the hours reported hold every event committed before the run.
   */
  readonly fold?: (accountId: string) => Promise<void>;
}

/** An hour still pending this long after it ended is overdue (an alarm watches the count). */
export const OVERDUE_PENDING_AFTER_MS = 20 * HOUR;

export interface MarketplaceReportOptions {
  /**
   * Real-clock instant (epoch ms) the run must finish its calls by (the Lambda's remaining time
   * less a margin): retries stop there, and batches not sent by then stay pending for the next run.
   */
  readonly deadline?: number;
  /** The real clock the deadline is read against (default Date.now). */
  readonly realNow?: () => number;
  /** First hour (epoch ms) for an account that has no watermark yet (default: 24 hours back). */
  readonly fromHour?: number;
  /** Only these accounts (default: every azure-marketplace account). */
  readonly accountIds?: readonly string[];
}

const ACCOUNT_CONCURRENCY = 8;

interface Outgoing {
  readonly record: MarketplaceUsageRecord;
  readonly resent: boolean;
  readonly report: ReportedUsageEvent[];
}

const requestOf = (r: MarketplaceUsageRecord): UsageEventRequest => ({
  resourceId: r.resourceId,
  planId: r.planId,
  dimension: r.dimension,
  quantity: Number(r.quantity),
  effectiveStartTime: r.effectiveStartTime,
});

/** The accounts billed through the Azure Marketplace (those of `opts.accountIds` when given). */
const marketplaceAccounts = (config: BillingConfig, opts: MarketplaceReportOptions) =>
  config.accounts.filter(
    (a) =>
      a.billingChannel === "azure-marketplace" &&
      a.azure !== undefined &&
      (!opts.accountIds || opts.accountIds.includes(a.accountId)),
  );

export async function reportMarketplaceUsage(
  deps: MarketplaceReporterDeps,
  opts: MarketplaceReportOptions = {},
): Promise<MarketplaceRunReport> {
  const now = deps.clock.now();
  const config = await deps.config();
  const accounts = marketplaceAccounts(config, opts);
  // Accounts are prepared a few at a time; reports and sends keep the accounts' order.
  const prepared: { report: AccountMarketplaceReport; send: Omit<Outgoing, "report">[] }[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < accounts.length; i = next++) {
      const account = accounts[i]!;
      const events: ReportedUsageEvent[] = [];
      try {
        const p = await prepareAccount(account, deps, now, opts.fromHour);
        events.push(...p.expired);
        prepared[i] = { report: { ...p.report, events }, send: p.send };
      } catch (e) {
        prepared[i] = {
          report: {
            accountId: account.accountId,
            resourceId: account.azure!.resourceId,
            planId: account.azure!.planId,
            hours: null,
            skippedHours: 0,
            readHistory: false,
            watermark: null,
            events,
            error: (e as Error)?.message ?? String(e),
          },
          send: [],
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ACCOUNT_CONCURRENCY, accounts.length) }, worker));
  const reports = prepared.map((p) => p.report);
  const outgoing: Outgoing[] = prepared.flatMap((p) =>
    p.send.map((o) => ({ ...o, report: p.report.events })),
  );

  let calls = 0;
  let unsentForTimeBudget = 0;
  const callErrors: string[] = [];
  const realNow = opts.realNow ?? Date.now;
  const callOptions = opts.deadline !== undefined ? { deadline: opts.deadline } : {};
  for (const batch of batches(outgoing)) {
    if (opts.deadline !== undefined && realNow() >= opts.deadline) {
      // Out of time: these stay pending (their records exist) and go out with the next run.
      unsentForTimeBudget += 1;
      for (const o of batch)
        o.report.push(
          failedCall(o.record, "not sent: the run's time budget ran out", deps.clock.now(), o.resent).event,
        );
      continue;
    }
    calls += 1;
    let results: UsageEventResult[] | undefined;
    let failure: string | undefined;
    try {
      results = await deps.client.submitBatch(
        batch.map((o) => requestOf(o.record)),
        callOptions,
      );
      if (results.length !== batch.length)
        throw new Error(`${results.length} results for ${batch.length} usage events`);
    } catch (e) {
      failure = (e as Error)?.message ?? String(e);
      results = undefined;
      callErrors.push(failure);
    }
    const at = deps.clock.now();
    for (const [i, o] of batch.entries()) {
      const result = results?.[i];
      const { update, event } = result
        ? answered(o.record, result, at, o.resent)
        : failedCall(o.record, failure ?? "no answer", at, o.resent);
      await deps.store.updateUsageRecord(o.record.accountId, o.record.dimension, o.record.hour, update);
      o.report.push(event);
    }
  }

  const all = reports.flatMap((r) => r.events);
  const totals: Record<UsageEventOutcome, number> = {
    accepted: 0,
    duplicate: 0,
    expired: 0,
    rejected: 0,
    pending: 0,
  };
  for (const e of all) totals[e.outcome] += 1;
  const overdueBefore = now - OVERDUE_PENDING_AFTER_MS - HOUR;
  return {
    ranAt: new Date(now).toISOString(),
    accounts: reports,
    calls,
    totals,
    needsAttention: all.filter(
      (e) =>
        e.outcome === "expired" ||
        e.outcome === "rejected" ||
        ((e.outcome === "accepted" || e.outcome === "duplicate") && e.reason !== undefined),
    ),
    callErrors,
    rejectedEvents: totals.expired + totals.rejected,
    expiredEvents: totals.expired,
    expiredQuantity: formatDecimal(
      all.filter((e) => e.outcome === "expired").reduce((q, e) => q.plus(e.quantity), ZERO),
    ),
    overduePending: all.filter(
      (e) => e.outcome === "pending" && Date.parse(e.effectiveStartTime) <= overdueBefore,
    ).length,
    unsentForTimeBudget,
  };
}

/**
 * Moves `deps.clock` forward to `to`, running the hourly reporter at the hour boundaries a run could
 * report something at — the first one, after each hour holding usage of an azure-marketplace
 * account, and at the start of a month that begins with carried-over overage — and skipping the
 * hours between (a run there would report nothing, `reportingBoundaries`). An event dated years
 * ahead costs a few runs, not one per hour. Returns the boundaries visited.
 */
export async function reportMarketplaceUsageUntil(
  deps: MarketplaceReporterDeps & { readonly clock: AdvancingClock },
  to: number,
  opts: MarketplaceReportOptions = {},
): Promise<{ visited: number[]; reports: MarketplaceRunReport[] }> {
  const from = deps.clock.now();
  const config = await deps.config();
  const accounts = marketplaceAccounts(config, opts);
  const due = new Set<number>();
  for (const account of accounts) {
    if (hourStartOf(from) + HOUR > to) break;
    const events = await deps.ledger.eventsOf(account.accountId, to);
    for (const b of reportingBoundaries(account, events, from, to)) due.add(b);
  }
  const visited = [...due].sort((a, b) => a - b);
  // A skipped hour is one a run would have reported as empty: the watermarks pass it, so that usage
  // arriving later lands in the next hour reported, exactly as with a run every hour.
  const passQuietHours = async (lastHour: number) => {
    for (const account of accounts) {
      const w = await deps.store.getWatermark(account.accountId);
      if (w && w.lastHour < lastHour)
        await deps.store.advanceWatermark(account.accountId, { lastHour, firstHour: w.firstHour });
    }
  };
  const reports: MarketplaceRunReport[] = [];
  for (const [i, b] of visited.entries()) {
    if (i > 0) await passQuietHours(b - 2 * HOUR);
    deps.clock.advanceTo(b);
    reports.push(await reportMarketplaceUsage(deps, opts));
  }
  if (visited.length > 0) await passQuietHours(hourStartOf(to) - HOUR);
  deps.clock.advanceTo(to);
  return { visited, reports };
}

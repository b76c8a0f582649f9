/**
 * The hourly Marketplace reporter (rating-rules §6): for every account billed through the Microsoft
 * Marketplace, report the usage above the plan's included quantities, one usage event per
 * dimension and completed hour (what is reported: shared/core/marketplace/usage.ts).
 *
 * A run, for each azure-marketplace account:
 * 1. reads its watermark (the last hour handled), its usage records of the billing months in play,
 *    and of its ledger only those months' raw events and the carry-over snapshot at their start
 *    (marketplace-ledger.ts): a run's reads do not grow with the account's history;
 * 2. computes the completed hours after the watermark up to the clock's current hour; an account
 *    without a watermark starts at `fromHour` (the simulation passes its clock's start) or as far
 *    back as the Marketplace allows. An hour the Marketplace no longer accepts (more than 24 hours
 *    back: the reporter did not run in time) gets its overage recorded *expired* with its quantity,
 *    never sent and never moved into a later hour: it shows in the reconciliation and raises the
 *    expired-events alarm (revenue to recover by hand);
 * 3. writes one *pending* record per event to send (conditional: an hour/dimension is never
 *    recorded twice), then moves the watermark to the last hour computed;
 * then all runs' events — new ones and those still pending from earlier runs — go out in batches of
 * at most 25 (the client retries 429/5xx/timeouts within `deadline`), and each answer is
 * recorded by its status (core/marketplace/statuses.ts):
 * - Accepted → accepted.
 * - Duplicate → the Marketplace already holds an event for that resource/dimension/hour (our own,
 *   sent by a call whose answer was lost): accepted, with the quantity Microsoft holds; never resent.
 *   If Microsoft holds another quantity than ours, the record says so (reason) and the run report
 *   lists it for reconciliation.
 * - Error (a failure on Microsoft's side) or a status not in the OpenAPI enum → no verdict: stays
 *   pending and is sent again (Duplicate if it was taken after all).
 * - Expired, or any rejection (ResourceNotFound, ResourceNotAuthorized, ResourceNotActive,
 *   InvalidDimension, InvalidQuantity, BadArgument) → kept with
 *   the Marketplace's status and reason, listed in the run report, never counted as accepted and
 *   never sent again (no blind retry). Its quantity is NOT carried into later hours: a finance team
 *   expects the Marketplace invoice to be explainable event by event, and quietly re-billing
 *   refused usage under another hour would hide the refusal (and re-trigger it for configuration
 *   errors every hour). It stays "reported, not accepted" for manual handling (a Partner Center
 *   correction, a credit, or a fix of the plan's dimensions), visible in the store and the report.
 * - No answer (network, timeout, HTTP 4xx/5xx, unreadable body) → nothing is recorded as accepted;
 *   the records stay pending and the same events are sent again by the next run (hourly), which
 *   is safe: an event the Marketplace did take comes back Duplicate. A pending event older than
 *   24 hours comes back Expired and is then handled as above.
 * The run report counts refusals (`rejectedEvents`), events pending 20 hours after their hour ended
 * (`overduePending`) and batches left for the time budget: the handler's metrics and alarms.
 * Because the records are written before the call and the watermark only after them, a crash at any
 * point neither loses an hour nor reports one twice. Runs should not overlap (one scheduled
 * invocation at a time); if they do, the conditional writes still keep one event per hour.
 */
import type { Account } from "../contract/accounts.js";
import type { BillingConfig } from "../core/config.js";
import { outcomeOfStatus } from "../core/marketplace/statuses.js";
import {
  batches,
  byPeriodStrings,
  earliestAcceptedHour,
  type HourOverage,
  hourIso,
  hourStartOf,
  hoursToReport,
  overageByHour,
  periodsConsideredFor,
  planHourlyUsage,
  reportingBoundaries,
  type UsageEventRequest,
} from "../core/marketplace/usage.js";
import { dec, formatDecimal, ZERO } from "../core/money.js";
import { HOUR, periodOf, periodWindow, shiftPeriod } from "../core/time.js";
import type { AdvancingClock, Clock } from "../ports/clock.js";
import type {
  MarketplaceMeteringClient,
  MarketplaceStore,
  MarketplaceUsageRecord,
  UsageEventResult,
  UsageRecordUpdate,
} from "../ports/marketplace.js";
import type { LedgerStore } from "../ports/storage.js";
import { loadMarketplaceLedger } from "./marketplace-ledger.js";

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

export type UsageEventOutcome = "accepted" | "duplicate" | "expired" | "rejected" | "pending";

export interface ReportedUsageEvent {
  readonly accountId: string;
  readonly dimension: string;
  readonly effectiveStartTime: string;
  readonly quantity: string;
  readonly outcome: UsageEventOutcome;
  /** The Marketplace's status word, when it answered. */
  readonly marketplaceStatus?: string;
  /** Quantity the Marketplace holds for the hour (after a Duplicate it may differ from ours). */
  readonly acceptedQuantity?: string;
  /** Rejection reason, mismatch note, or the call error for a pending event. */
  readonly reason?: string;
  /** True when the event was pending from an earlier run and sent again. */
  readonly resent: boolean;
}

export interface AccountMarketplaceReport {
  readonly accountId: string;
  readonly resourceId: string;
  readonly planId: string;
  /** Hours computed by this run (first and last effectiveStartTime), or null when none had completed. */
  readonly hours: { readonly first: string; readonly last: string; readonly count: number } | null;
  /**
   * Completed hours the Marketplace no longer accepted when this run reached them (older than 24
   * hours: the reporter did not run in time); their overage is recorded `expired`, never sent.
   */
  readonly skippedHours: number;
  /**
   * True when the snapshot at the start of the months in play was missing (the month before them
   * never closed), so the account's earlier months were read to build it.
   */
  readonly readHistory: boolean;
  /** The last hour reported after this run. */
  readonly watermark: string | null;
  readonly events: ReportedUsageEvent[];
  /** An unexpected failure for this account (the other accounts still ran); the run is retried. */
  readonly error?: string;
}

export interface MarketplaceRunReport {
  readonly ranAt: string;
  readonly accounts: AccountMarketplaceReport[];
  readonly calls: number;
  readonly totals: Record<UsageEventOutcome, number>;
  /** Expired and rejected events, and Duplicates holding another quantity: for manual handling. */
  readonly needsAttention: ReportedUsageEvent[];
  /** Calls that got no per-event answer (their events stay pending for the next run). */
  readonly callErrors: string[];
  /** Events refused for good in this run (expired or rejected): the MarketplaceRejectedEvents metric. */
  readonly rejectedEvents: number;
  /**
   * Events recorded expired in this run — hours the reporter reached too late, and events the
   * Marketplace answered Expired: usage Microsoft will never bill (the MarketplaceExpiredEvents metric).
   */
  readonly expiredEvents: number;
  /** The quantity of those events (decimal string), for the alarm's message and the runbook. */
  readonly expiredQuantity: string;
  /**
   * Events still pending after this run whose hour ended 20 hours or more ago (4 hours left in
   * Microsoft's 24): the MarketplaceOverduePending metric.
   */
  readonly overduePending: number;
  /** Batches left unsent because the run's time budget ran out (their events stay pending). */
  readonly unsentForTimeBudget: number;
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

async function prepareAccount(
  account: Account,
  deps: MarketplaceReporterDeps,
  now: number,
  fromHour: number | undefined,
): Promise<{
  send: { record: MarketplaceUsageRecord; resent: boolean }[];
  expired: ReportedUsageEvent[];
  report: Omit<AccountMarketplaceReport, "events">;
}> {
  const azure = account.azure!;
  const tz = account.timezone;
  await deps.fold?.(account.accountId);
  const watermark = await deps.store.getWatermark(account.accountId);
  const { hours, expired, skipped } = hoursToReport(
    now,
    watermark?.lastHour,
    watermark ? undefined : fromHour,
  );
  const handled = [...expired, ...hours];
  const anchor = handled[0] ?? now;
  const firstHour = watermark?.firstHour ?? anchor;
  const dimensions = [...new Set(Object.values(azure.dimensions))].sort();
  // Records that can count towards the months in play: from the start of the month before the
  // first hour's month (late usage of the previous month, usage.ts), less one hour (a month that
  // starts mid-hour).
  const since = periodWindow(shiftPeriod(periodOf(anchor, tz), -1), tz).start - HOUR;
  // (A record still pending from before that — a month of failed calls — is left for manual handling.)
  const last = handled.length > 0 ? handled[handled.length - 1]! : undefined;
  // Only the months in play and the snapshot at their start: never the account's whole history.
  const from = periodsConsideredFor(anchor, tz, firstHour)[0] ?? periodOf(anchor, tz);
  const [records, ledger] = await Promise.all([
    deps.store.usageRecords(account.accountId, { fromHour: since, dimensions }),
    last !== undefined ? loadMarketplaceLedger(deps.ledger, account, from, last + HOUR) : undefined,
  ]);
  const send = records.filter((r) => r.status === "pending").map((record) => ({ record, resent: true }));
  const expiredEvents: ReportedUsageEvent[] = [];

  if (last !== undefined && ledger) {
    // An hour past Microsoft's window can only change the overage if an event falls in it or a
    // month (with its carried-over charges) starts in it; the others would plan nothing.
    const busy = new Set(ledger.events.map((e) => hourStartOf(e.t)));
    for (const id of ledger.carried.keys()) busy.add(hourStartOf(periodWindow(id, tz).start));
    const computed = [...expired.filter((h) => busy.has(h)), ...hours];
    const overages: HourOverage[] = overageByHour(account, ledger.events, computed, {
      firstHour,
      carried: ledger.carried,
    });
    const earliest = earliestAcceptedHour(now);
    const at = deps.clock.now();
    for (const p of planHourlyUsage(account, overages, records)) {
      const tooOld = p.hour < earliest;
      const reason = tooOld
        ? `not sent: older than the Marketplace's 24 hours when the reporter reached it at ${new Date(now).toISOString()} (no run in time); revenue to recover by hand`
        : undefined;
      const record: MarketplaceUsageRecord = {
        accountId: account.accountId,
        ...p.request,
        hour: p.hour,
        quantity: formatDecimal(p.quantity),
        byPeriod: byPeriodStrings(p.byPeriod),
        status: tooOld ? "expired" : "pending",
        ...(reason !== undefined ? { reason } : {}),
        failedAttempts: 0,
        createdAt: at,
        updatedAt: at,
      };
      // False: another run recorded this hour meanwhile; it owns sending it.
      if (!(await deps.store.createUsageRecord(record))) continue;
      if (reason === undefined) send.push({ record, resent: false });
      else
        expiredEvents.push({
          accountId: account.accountId,
          dimension: record.dimension,
          effectiveStartTime: record.effectiveStartTime,
          quantity: record.quantity,
          outcome: "expired",
          reason,
          resent: false,
        });
    }
    await deps.store.advanceWatermark(account.accountId, { lastHour: last, firstHour });
  }
  const lastHour = last ?? watermark?.lastHour;
  return {
    send,
    expired: expiredEvents,
    report: {
      accountId: account.accountId,
      resourceId: azure.resourceId,
      planId: azure.planId,
      hours:
        hours.length > 0
          ? { first: hourIso(hours[0]!), last: hourIso(hours[hours.length - 1]!), count: hours.length }
          : null,
      skippedHours: skipped,
      readHistory: ledger?.fromHistory ?? false,
      watermark: lastHour !== undefined ? hourIso(lastHour) : null,
    },
  };
}

/**
 * Moves `deps.clock` forward to `to`, running the hourly reporter at the hour boundaries a run could
 * report something at — the first one, after each hour holding usage of an azure-marketplace
 * account, and at the start of a month that begins with carried-over overage — and skipping the
 * hours between (a run there would report nothing: D9, `reportingBoundaries`). An event dated years
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

function answered(
  record: MarketplaceUsageRecord,
  result: UsageEventResult,
  at: number,
  resent: boolean,
): { update: UsageRecordUpdate; event: ReportedUsageEvent } {
  const base = {
    accountId: record.accountId,
    dimension: record.dimension,
    effectiveStartTime: record.effectiveStartTime,
    quantity: record.quantity,
    marketplaceStatus: result.status,
    resent,
  };
  const usageEventId = result.usageEventId !== undefined ? { usageEventId: result.usageEventId } : {};
  const outcome = outcomeOfStatus(result.status);
  const microsoft = [result.status, result.error?.message]
    .filter((s) => s !== undefined && s !== "")
    .join(": ");
  if (outcome.kind === "retry") {
    // No verdict on the event (Error, or a status we do not know): it stays pending and is sent
    // again; if the Marketplace did take it, the next answer is Duplicate.
    const error = `${microsoft} (${outcome.reason}; sent again by the next run)`;
    return {
      update: { kind: "call-failed", error, at },
      event: { ...base, outcome: "pending", reason: error },
    };
  }
  if (outcome.kind === "accepted" || outcome.kind === "duplicate-accepted") {
    const held =
      result.acceptedQuantity !== undefined ? formatDecimal(dec(result.acceptedQuantity)) : record.quantity;
    const reason =
      held !== record.quantity
        ? `the Marketplace already holds ${held} for this hour; ${record.quantity} was to be reported`
        : undefined;
    return {
      update: {
        kind: "answered",
        status: "accepted",
        marketplaceStatus: result.status,
        acceptedQuantity: held,
        ...usageEventId,
        ...(reason ? { reason } : {}),
        at,
      },
      event: {
        ...base,
        outcome: outcome.kind === "accepted" ? "accepted" : "duplicate",
        acceptedQuantity: held,
        ...(reason ? { reason } : {}),
      },
    };
  }
  const status = outcome.expired ? "expired" : "rejected";
  const reason = `${microsoft} (${outcome.reason})`;
  return {
    update: { kind: "answered", status, marketplaceStatus: result.status, reason, ...usageEventId, at },
    event: { ...base, outcome: status, reason },
  };
}

function failedCall(
  record: MarketplaceUsageRecord,
  error: string,
  at: number,
  resent: boolean,
): { update: UsageRecordUpdate; event: ReportedUsageEvent } {
  return {
    update: { kind: "call-failed", error, at },
    event: {
      accountId: record.accountId,
      dimension: record.dimension,
      effectiveStartTime: record.effectiveStartTime,
      quantity: record.quantity,
      outcome: "pending",
      reason: error,
      resent,
    },
  };
}

/**
 * One account's part of an hourly Marketplace reporter run, before anything is sent:
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
 *    recorded twice), then moves the watermark to the last hour computed.
 * It returns what to send: the new pending records and those still pending from earlier runs.
 */
import type { Account } from "../contract/accounts.js";
import {
  byPeriodStrings,
  earliestAcceptedHour,
  type HourOverage,
  hourIso,
  hourStartOf,
  hoursToReport,
  overageByHour,
  periodsConsideredFor,
  planHourlyUsage,
} from "../core/marketplace/usage.js";
import { formatDecimal } from "../core/money.js";
import { HOUR, periodOf, periodWindow, shiftPeriod } from "../core/time.js";
import type { Clock } from "../ports/clock.js";
import type { MarketplaceStore, MarketplaceUsageRecord } from "../ports/marketplace.js";
import type { LedgerStore } from "../ports/storage.js";
import type { AccountMarketplaceReport, ReportedUsageEvent } from "./marketplace-answers.js";
import { loadMarketplaceLedger } from "./marketplace-ledger.js";

export interface PreparedAccount {
  /** Records to send: new pending ones, and those pending from earlier runs (`resent`). */
  readonly send: { record: MarketplaceUsageRecord; resent: boolean }[];
  /** Hours reached too late, recorded expired (never sent). */
  readonly expired: ReportedUsageEvent[];
  readonly report: Omit<AccountMarketplaceReport, "events">;
}

export async function prepareAccount(
  account: Account,
  deps: {
    readonly ledger: LedgerStore;
    readonly store: MarketplaceStore;
    readonly clock: Clock;
    /** Folds the account's journal before its raw events are read. */
    readonly fold?: (accountId: string) => Promise<void>;
  },
  now: number,
  fromHour: number | undefined,
): Promise<PreparedAccount> {
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

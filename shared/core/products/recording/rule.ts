/**
 * Voice and video recording (rating-rules §5 "Recording"): recording licences, storage
 * minute-days / GB-days, video storage and export; plus the compliance figure "calls recorded
 * above the recording limit", reported, never charged.
 */
import type { Account } from "../../../contract/accounts.js";
import { instantOf } from "../../../contract/common.js";
import { dec, ONE } from "../../money.js";
import type { Charge, LedgerEvent, LedgerEventOf, ProductRule } from "../../rating/types.js";
import { eventsOfType, inPeriod, refOf } from "../../rating/types.js";
import { type PeriodWindow, periodOf, periodWindow } from "../../time.js";

type StorageEvent = LedgerEventOf<"recording.storage">;

/**
 * §5 recording limit: the account's recordingLimit (default 10); on the Conversations Full
 * solution, its number of Conversations licences (recordingLimit when that is not set, policy).
 */
export function recordingLimit(account: Account): number {
  const s = account.settings;
  if (s.conversationsFullSolution) return s.conversationsLicenses ?? s.recordingLimit;
  return s.recordingLimit;
}

/** §5: the greatest `time`, then `id` (then `source`, so that the choice is total) wins. */
const later = (a: StorageEvent, b: StorageEvent): boolean =>
  a.t !== b.t ? a.t > b.t : a.id !== b.id ? a.id > b.id : a.source > b.source;

/**
 * §5: for each `day` only the storage event with the greatest time (then id) counts. A day is
 * charged once, in the period that contains it (its `day`, local to the account). Policy: a day
 * whose every report arrived after its period ended (the last day's snapshot is often sent after
 * midnight) is charged in the period of its first report instead of being lost; once a day has
 * been charged, reports in later periods do not charge it again.
 */
export function storageDaysOf(
  account: Account,
  period: PeriodWindow,
  events: readonly LedgerEvent[],
  /** Days of earlier periods settled before the events given (a carry-over snapshot, carry.ts). */
  settled: ReadonlySet<string> = new Set(),
): StorageEvent[] {
  const byDay = new Map<string, StorageEvent[]>();
  for (const e of eventsOfType(events, "recording.storage")) {
    const list = byDay.get(e.data.day) ?? [];
    list.push(e);
    byDay.set(e.data.day, list);
  }
  const out: StorageEvent[] = [];
  for (const day of [...byDay.keys()].sort()) {
    const reports = byDay.get(day)!;
    const dayPeriod = day.slice(0, 7);
    if (dayPeriod > period.id) continue; // a future day: its own period charges it
    if (settled.has(day)) continue; // charged in (or reported before) an earlier period
    const reportedInTime = reports.some((e) => e.t < periodWindow(dayPeriod, account.timezone).end);
    const firstReport = Math.min(...reports.map((e) => e.t));
    const chargedIn = reportedInTime ? dayPeriod : periodOf(firstReport, account.timezone);
    if (chargedIn !== period.id) continue;
    let latest = reports[0]!;
    for (const e of reports) if (later(e, latest)) latest = e;
    out.push(latest);
  }
  return out;
}

export const rateRecording: ProductRule = ({ account, period, events, carried }) => {
  const charges: Charge[] = [];
  const full = account.settings.conversationsFullSolution;
  const limit = recordingLimit(account);
  // The per-period and per-day charges of a period are priced inside it (G8).
  const clamp = (t: number) => Math.min(Math.max(t, period.start), period.end - 1);

  const calls = eventsOfType(events, "voice.call");
  // §5 recording.license (not Full solution, where recording is free): one licence per call
  // recorded in the period until the limit is reached, i.e. min(recorded calls, limit). A call
  // belongs to the period of its set-up time (G13).
  if (!full) {
    const recorded = calls.filter((c) => inPeriod(c.t, period) && c.data.recording !== undefined).length;
    const licences = Math.min(recorded, limit);
    if (licences > 0)
      charges.push({
        product: "recording.license",
        dimensions: {},
        quantity: dec(licences),
        pricedAt: period.start,
        ref: `recording.license min(${recorded} recorded calls, limit ${limit}) ${period.id}`,
      });
  }

  // §5 storage: the day's latest snapshot; Full solution GB-days, others minute-days; video for all.
  for (const e of storageDaysOf(account, period, events, new Set(carried?.storageDaysSettled))) {
    const add = (product: Charge["product"], amount: number | undefined) => {
      if (amount !== undefined && amount > 0)
        charges.push({
          product,
          dimensions: {},
          quantity: dec(amount),
          pricedAt: clamp(e.t),
          ref: `${refOf(e)} day ${e.data.day}`,
        });
    };
    if (full) add("recording.storage_gb_day", e.data.gigabytes);
    else add("recording.storage_minute_day", e.data.minutes);
    add("recording.video_storage_gb_day", e.data.videoGigabytes);
  }

  // §5 recording.video_export, per export (policy): a recording exported twice is charged twice,
  // each export being its own conversion and transfer; one delivery of the same event counts once (G5).
  for (const e of eventsOfType(events, "recording.exported")) {
    if (inPeriod(e.t, period))
      charges.push({
        product: "recording.video_export",
        dimensions: {},
        quantity: ONE,
        pricedAt: e.t,
        ref: `${refOf(e)} recording ${e.data.recordingId}`,
      });
  }

  const above = recordingAboveLimit(period, calls, limit);
  return { charges, compliance: above ? { recordingAboveLimit: above } : {} };
};

/**
 * §5 compliance "calls recorded above the recording limit": over the recordings overlapping the
 * period (half-open [startedAt, endedAt)), the most recorded at the same time, and the calls whose
 * recording started in the period while the limit was already reached (they should have been
 * rejected or taken without recording). Simultaneous starts are taken in canonical order.
 */
export function recordingAboveLimit(
  period: PeriodWindow,
  calls: readonly LedgerEventOf<"voice.call">[],
  limit: number,
) {
  type Point = { t: number; kind: 0 | 1; carried: boolean; idx: number; callId: string };
  const points: Point[] = [];
  calls.forEach((c, idx) => {
    const r = c.data.recording;
    if (!r) return;
    const from = instantOf(r.startedAt);
    const to = instantOf(r.endedAt);
    if (!(to > from) || from >= period.end || to <= period.start) return;
    const carried = from < period.start; // recording since the previous period
    const start = Math.max(from, period.start);
    points.push({ t: start, kind: 1, carried, idx, callId: c.data.callId });
    points.push({ t: Math.min(to, period.end), kind: 0, carried, idx, callId: c.data.callId });
  });
  if (points.length === 0) return undefined;
  // Ends before starts at the same instant (half-open), carried-over recordings first, then canonical order.
  points.sort(
    (a, b) => a.t - b.t || a.kind - b.kind || Number(b.carried) - Number(a.carried) || a.idx - b.idx,
  );
  let current = 0;
  let max = 0;
  const atLimit: string[] = [];
  for (const p of points) {
    if (p.kind === 0) {
      current -= 1;
      continue;
    }
    if (!p.carried && current >= limit) atLimit.push(p.callId);
    current += 1;
    max = Math.max(max, current);
  }
  return {
    limit,
    maxSimultaneous: max,
    callsStartedAtLimit: atLimit.length,
    callIds: atLimit,
    breach: max > limit,
  };
}

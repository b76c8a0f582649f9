/**
 * Marketplace pass-through (rating-rules §6), the pure part: what to report to the Microsoft
 * Marketplace Metering API for an account billed by Microsoft (`billingChannel: "azure-marketplace"`).
 *
 * Facts from Microsoft's metering documentation (learn.microsoft.com, "Marketplace metered billing
 * APIs"): one usage event per resource, dimension and calendar hour (a second one for the same hour
 * is answered `Duplicate`); `effectiveStartTime` no more than 24 hours back (older: `Expired`);
 * quantity > 0; at most 25 events per `batchUsageEvent` call; only usage ABOVE what the plan's base
 * fee includes is sent.
 *
 * Design (our policy):
 * - Cumulative quantity. For an account, a billing month P (its period, in its own time zone, G3)
 *   and a Marketplace dimension d, the cumulative quantity at instant x is the sum of the
 *   quantities of the charges that the product rules (`productRules`) give for P from the account's
 *   ledger events with t < x, whose product maps to d through `azure.dimensions` (key: product code;
 *   a key `product.category`, e.g. `whatsapp.template.marketing`, wins over the bare product code).
 *   Signals-blocked traffic (G2), rejected work (G1) and duplicates (G5) are not charges, so they
 *   never count. Only the Marketplace decides the price: whether our tariff prices the charge
 *   (or holds it in suspense, G10) does not matter here.
 * - Overage so far = max(0, cumulative − includedQuantities[d]) (included quantity per billing
 *   month, default 0).
 * - Accounted quantity of (P, d) = the sum, over every usage record already written for d, of the
 *   part attributed to P — whatever the record's status (pending, accepted, expired, rejected).
 * - The event for a completed hour [H, H+1h) and dimension d has quantity
 *   Σ over the months considered for H of max(0, overage_P,d(H+1h) − accounted_P,d), and is sent
 *   only if > 0, with `effectiveStartTime` = H. The months considered for H are the month of H, the
 *   month of the hour's last instant (a month can start mid-hour in a zone with a half-hour offset)
 *   and the month before (late events of the previous month, see below) — never a month that ended
 *   before the account's first reported hour (its usage was not the Marketplace's to bill).
 * - Late usage (an event that reaches the ledger after its hour was reported) is reported in the
 *   next reported hour: the overage is cumulative, so the next hour's delta contains it.
 * - An hour the Marketplace no longer accepts when the reporter gets to it (it did not run for
 *   more than 24 hours) gets its delta recorded as expired, never sent: Microsoft bills usage in
 *   the hour it happened, and an expired hour is revenue to recover by hand, so it must show as
 *   such, not be hidden in a later hour. Late usage of the previous month is reported in the current
 *   month's next hour, against the previous month's included quantity (like G7 adjustments, it is
 *   billed when it becomes known). Late usage older than the previous month is not reported
 *   automatically; the close's adjustment lines (billing_channel azure-marketplace) show it.
 * - An hour already holding a record for d is never reported again for d (one event per
 *   resource/dimension/hour): whatever is new lands in the next hour.
 * - Usage decreases (a rule whose figure goes down as events arrive) are never sent: the
 *   Marketplace takes no negative quantities; the next positive delta is net of them.
 */
import type { Account } from "../../contract/accounts.js";
import { compositeKey } from "../keys.js";
import { type Dec, dec, formatDecimal, ZERO } from "../money.js";
import { productRules } from "../products/index.js";
import type { CarriedFacts } from "../rating/carry.js";
import { RATING_LOOKAHEAD } from "../rating/engine.js";
import { canonicalOrder } from "../rating/ordering.js";
import type { Charge, LedgerEvent } from "../rating/types.js";
import { DAY, HOUR, type PeriodId, type PeriodWindow, periodOf, periodWindow, shiftPeriod } from "../time.js";

/** The Marketplace takes at most 25 usage events per batchUsageEvent call. */
export const MAX_EVENTS_PER_BATCH = 25;
/** The Marketplace accepts usage events whose effectiveStartTime is at most 24 hours back. */
export const REPORTING_WINDOW_MS = DAY;

/** One usage event as the Marketplace Metering API takes it (batchUsageEvent `request` item). */
export interface UsageEventRequest {
  readonly resourceId: string;
  /** A managed application's resource URI (Microsoft: resourceId or resourceUri, never both); unused for SaaS. */
  readonly resourceUri?: string;
  readonly planId: string;
  readonly dimension: string;
  readonly quantity: number;
  /** UTC start of the reported hour, `YYYY-MM-DDTHH:00:00Z`. */
  readonly effectiveStartTime: string;
}

export const hourStartOf = (t: number): number => Math.floor(t / HOUR) * HOUR;

/** `2025-07-02T10:00:00Z`: the effectiveStartTime of the hour starting at `hour` (epoch ms). */
export const hourIso = (hour: number): string =>
  `${new Date(hourStartOf(hour)).toISOString().slice(0, 13)}:00:00Z`;

/** The Marketplace dimension a charge counts towards, if the account's plan maps its product. */
export function marketplaceDimensionOf(
  account: Account,
  charge: Pick<Charge, "product" | "dimensions">,
): string | undefined {
  const map = account.azure?.dimensions;
  if (!map) return undefined;
  const category = charge.dimensions.category;
  return (category !== undefined ? map[`${charge.product}.${category}`] : undefined) ?? map[charge.product];
}

/** Quantity of a dimension included in the plan per billing month (default 0). */
export const includedQuantityOf = (account: Account, dimension: string): Dec =>
  dec(account.azure?.includedQuantities[dimension] ?? 0);

/** Number of events with t < until in events sorted by t. */
function countBefore(sorted: readonly LedgerEvent[], until: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.t < until) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Cumulative quantity per Marketplace dimension of period P's charges from the events with
 * t < until. `ordered` must be the account's events in canonical order (ordering.ts). With
 * `carried` (the carry-over snapshot at P's start, rating/carry.ts) the snapshot stands for every
 * event before P, exactly as in the close (engine.ts): `ordered` need then hold only the events from
 * P's start on (earlier ones are ignored), so the caller reads no history.
 */
export function cumulativeByDimension(
  account: Account,
  period: PeriodWindow,
  ordered: readonly LedgerEvent[],
  until: number,
  carried?: CarriedFacts,
): Map<string, Dec> {
  const from = carried ? countBefore(ordered, period.start) : 0;
  // Rules take the events with t < period.end and those just after it (types.ts RuleInput); here
  // only those with t < until.
  const end = countBefore(ordered, Math.min(until, period.end));
  const own = ordered.slice(from, Math.max(from, end));
  const following = ordered.slice(
    Math.max(from, end),
    Math.max(from, countBefore(ordered, Math.min(until, period.end + RATING_LOOKAHEAD))),
  );
  const before = carried ? carried.events.filter((e) => e.t < period.start) : [];
  const events = before.length > 0 ? [...canonicalOrder(before), ...own] : own;
  const totals = new Map<string, Dec>();
  if (events.length === 0) return totals;
  const facts = carried ? { carried } : {};
  for (const rule of productRules) {
    for (const charge of rule({ account, period, events, following, ...facts }).charges) {
      const dimension = marketplaceDimensionOf(account, charge);
      if (dimension === undefined) continue;
      totals.set(dimension, (totals.get(dimension) ?? ZERO).plus(charge.quantity));
    }
  }
  return totals;
}

/** max(0, cumulative − included) per dimension. */
export function overageOf(account: Account, cumulative: ReadonlyMap<string, Dec>): Map<string, Dec> {
  const out = new Map<string, Dec>();
  for (const [dimension, quantity] of cumulative) {
    const over = quantity.minus(includedQuantityOf(account, dimension));
    out.set(dimension, over.isPositive() && !over.isZero() ? over : ZERO);
  }
  return out;
}

/**
 * The billing months considered for hour H (see the header): the month before H's, H's month and
 * the month of the hour's last instant; without those that ended at or before `firstHour`.
 */
export function periodsConsideredFor(hour: number, timezone: string, firstHour = -Infinity): PeriodId[] {
  const own = periodOf(hour, timezone);
  const ids = new Set([shiftPeriod(own, -1), own, periodOf(hour + HOUR - 1, timezone)]);
  return [...ids].filter((id) => periodWindow(id, timezone).end > firstHour).sort();
}

export interface PeriodOverage {
  readonly period: PeriodId;
  /** Overage per dimension at the end of the hour (dimensions with no charge are absent). */
  readonly overage: ReadonlyMap<string, Dec>;
}

export interface HourOverage {
  /** Start of the hour (epoch ms, UTC hour boundary). */
  readonly hour: number;
  readonly periods: readonly PeriodOverage[];
}

/**
 * Overage so far (at each hour's end) per considered billing month and dimension, for many hours
 * from one load of the account's events (any order; other accounts' events are ignored).
 */
export function overageByHour(
  account: Account,
  events: readonly LedgerEvent[],
  hours: readonly number[],
  opts: {
    firstHour?: number;
    /** The carry-over snapshot at the start of each billing month considered (see cumulativeByDimension). */
    carried?: ReadonlyMap<PeriodId, CarriedFacts>;
  } = {},
): HourOverage[] {
  const ordered = canonicalOrder(events.filter((e) => e.subject === account.accountId));
  const windows = new Map<PeriodId, PeriodWindow>();
  const windowOf = (id: PeriodId) => {
    let w = windows.get(id);
    if (!w) {
      w = periodWindow(id, account.timezone);
      windows.set(id, w);
    }
    return w;
  };
  return [...hours]
    .map(hourStartOf)
    .sort((a, b) => a - b)
    .map((hour) => ({
      hour,
      periods: periodsConsideredFor(hour, account.timezone, opts.firstHour).map((period) => ({
        period,
        overage: overageOf(
          account,
          cumulativeByDimension(account, windowOf(period), ordered, hour + HOUR, opts.carried?.get(period)),
        ),
      })),
    }));
}

/** A usage record already written (any status), as far as planning needs it. */
export interface AccountedUsage {
  readonly dimension: string;
  readonly hour: number;
  /** Decimal strings: the part of the record's quantity that is overage of each billing month. */
  readonly byPeriod: Readonly<Record<PeriodId, string>>;
}

export interface PlannedUsage {
  readonly hour: number;
  readonly dimension: string;
  readonly quantity: Dec;
  /** Overage of which billing month the quantity is (sums to `quantity`). */
  readonly byPeriod: Readonly<Record<PeriodId, Dec>>;
  readonly request: UsageEventRequest;
}

/** Map key of a pair. */
const key = (a: string, b: string | number) => compositeKey(a, b);

/**
 * The usage events to send for the given hours (ascending), given what is already accounted
 * (records of any status). One event per dimension and hour, quantity > 0.
 */
export function planHourlyUsage(
  account: Account,
  overages: readonly HourOverage[],
  accounted: readonly AccountedUsage[],
): PlannedUsage[] {
  const azure = account.azure;
  if (!azure) return [];
  const handled = new Map<string, Dec>();
  const taken = new Set<string>();
  for (const r of accounted) {
    taken.add(key(r.dimension, hourStartOf(r.hour)));
    for (const [period, q] of Object.entries(r.byPeriod))
      handled.set(key(period, r.dimension), (handled.get(key(period, r.dimension)) ?? ZERO).plus(q));
  }
  const planned: PlannedUsage[] = [];
  for (const { hour, periods } of [...overages].sort((a, b) => a.hour - b.hour)) {
    const byDimension = new Map<string, Record<PeriodId, Dec>>();
    for (const { period, overage } of periods) {
      for (const [dimension, over] of overage) {
        const delta = over.minus(handled.get(key(period, dimension)) ?? ZERO);
        if (!delta.isPositive() || delta.isZero()) continue;
        const parts = byDimension.get(dimension) ?? {};
        parts[period] = delta;
        byDimension.set(dimension, parts);
      }
    }
    for (const dimension of [...byDimension.keys()].sort()) {
      // One event per resource/dimension/hour: an hour that already has one keeps it; the new
      // usage stays unaccounted and lands in the next hour.
      if (taken.has(key(dimension, hour))) continue;
      const byPeriod = byDimension.get(dimension)!;
      const quantity = Object.values(byPeriod).reduce((s, q) => s.plus(q), ZERO);
      for (const [period, q] of Object.entries(byPeriod))
        handled.set(key(period, dimension), (handled.get(key(period, dimension)) ?? ZERO).plus(q));
      taken.add(key(dimension, hour));
      planned.push({
        hour,
        dimension,
        quantity,
        byPeriod,
        request: {
          resourceId: azure.resourceId,
          planId: azure.planId,
          dimension,
          quantity: Number(formatDecimal(quantity)),
          effectiveStartTime: hourIso(hour),
        },
      });
    }
  }
  return planned;
}

/**
 * The completed hours a run at `now` handles for an account: those after its watermark (the last
 * hour handled), or from `fromHour` for an account without one (default: as far back as allowed),
 * up to the last completed hour. `hours` are those the Marketplace still accepts (effectiveStartTime
 * at most 24 hours back); `expired` those it no longer does (the reporter did not run for more
 * than 24 hours): their overage is recorded as expired, never sent and never moved into a later
 * hour (Microsoft bills usage in the hour it happened). `skipped` counts them.
 */
export function hoursToReport(
  now: number,
  watermark: number | undefined,
  fromHour?: number,
): { hours: number[]; expired: number[]; skipped: number } {
  const lastComplete = hourStartOf(now) - HOUR;
  const earliest = earliestAcceptedHour(now);
  const first =
    watermark !== undefined
      ? hourStartOf(watermark) + HOUR
      : fromHour !== undefined
        ? hourStartOf(fromHour)
        : earliest;
  const expired: number[] = [];
  for (let h = first; h < earliest && h <= lastComplete; h += HOUR) expired.push(h);
  const hours: number[] = [];
  for (let h = Math.max(first, earliest); h <= lastComplete; h += HOUR) hours.push(h);
  return { hours, expired, skipped: expired.length };
}

/** The oldest hour whose usage event the Marketplace still accepts at `now` (24 hours back). */
export const earliestAcceptedHour = (now: number): number =>
  Math.ceil((now - REPORTING_WINDOW_MS) / HOUR) * HOUR;

/** Splits items into batches of at most `size` (default: the Marketplace's 25 per call). */
export function batches<T>(items: readonly T[], size = MAX_EVENTS_PER_BATCH): T[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`batch size must be a positive integer: ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Decimal-string form of a per-period split, for storage. */
export const byPeriodStrings = (byPeriod: Readonly<Record<PeriodId, Dec>>): Record<PeriodId, string> =>
  Object.fromEntries(Object.entries(byPeriod).map(([p, q]) => [p, formatDecimal(q)]));

/**
 * The hour boundaries in (from, to] after which a reporter run can have something new to report for
 * the account, given its ledger events (any order) — so a simulation moving its clock far ahead runs
 * the reporter only there instead of every hour (`reportMarketplaceUsageUntil`). The cumulative
 * overage of a billing month changes only with an event, or when the month begins with charges
 * carried over from earlier events (active resources, provisioned users). So the boundaries are:
 * the first one after `from` (events that arrived late), the one ending each hour that holds an
 * event, and the one ending the first hour of each month that begins with carried-over overage —
 * looked for in the months after each month with events, until one begins without any. The work
 * is bounded by the number of events and of monthly charges, never by how far away `to` lies.
 */
export function reportingBoundaries(
  account: Account,
  events: readonly LedgerEvent[],
  from: number,
  to: number,
): number[] {
  const first = hourStartOf(from) + HOUR;
  if (first > to) return [];
  const due = new Set<number>([first]);
  const ordered = canonicalOrder(events.filter((e) => e.subject === account.accountId && e.t < to));
  const months = new Set<PeriodId>([periodOf(from, account.timezone)]);
  for (const e of ordered) {
    if (e.t >= hourStartOf(from)) due.add(hourStartOf(e.t) + HOUR);
    if (e.t >= from) months.add(periodOf(e.t, account.timezone));
  }
  const checked = new Set<PeriodId>();
  for (const month of months) {
    for (
      let next = shiftPeriod(month, 1);
      !checked.has(next) && !months.has(next);
      next = shiftPeriod(next, 1)
    ) {
      checked.add(next);
      const window = periodWindow(next, account.timezone);
      if (window.start >= to) break;
      const carried = overageOf(account, cumulativeByDimension(account, window, ordered, window.start));
      if (![...carried.values()].some((q) => q.isPositive() && !q.isZero())) break;
      due.add(hourStartOf(window.start) + HOUR);
    }
    const own = periodWindow(month, account.timezone);
    if (own.start > from && own.start < to) {
      const carried = overageOf(account, cumulativeByDimension(account, own, ordered, own.start));
      if ([...carried.values()].some((q) => q.isPositive() && !q.isZero()))
        due.add(hourStartOf(own.start) + HOUR);
    }
  }
  return [...due].filter((b) => b > from && b <= to).sort((a, b) => a - b);
}

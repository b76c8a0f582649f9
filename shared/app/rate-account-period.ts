/**
 * Rating one account's period from that period's state alone: its counters, its own raw
 * (stateful) events, the next period's first hours its products reach back from (§3.1,
 * `longestReachBack`), and the carry-over snapshot at its start, written by the close of the
 * period before. Used by the close, by the re-rating of closed periods for late events (G7, G10)
 * and by the month-to-date preview.
 * Each function rates, carries and looks ahead with the products it is given (`products`, last,
 * default the built-in registry): the close passes its own, so a test product is rated like any.
 */
import type { Account } from "../contract/accounts.js";
import type { Tariff } from "../contract/tariffs.js";
import { builtInProducts, type ProductCatalogue } from "../core/products/index.js";
import { type CarriedFacts, carryOver } from "../core/rating/carry.js";
import { NO_COUNTERS, type PeriodCounters } from "../core/rating/counters.js";
import { type PeriodRating, ratePeriod } from "../core/rating/engine.js";
import type { LedgerEvent } from "../core/rating/types.js";
import { type PeriodId, periodOf, periodWindow, shiftPeriod } from "../core/time.js";
import { shardsOf, type UsagePeriod, type UsageStore } from "../ports/usage-store.js";

export interface PeriodState {
  readonly periodId: PeriodId;
  /** The snapshot at the period's start. */
  readonly carried: CarriedFacts;
  /** The period's raw events and those of the look-ahead after its end. */
  readonly events: readonly LedgerEvent[];
  readonly counters: PeriodCounters;
}

/**
 * The snapshot at the start of `periodId`: the stored one, else (first close, or the period before
 * never closed) built once from the account's raw events of every earlier period that holds usage.
 * `usagePeriods` is the account's list of periods with usage (usage markers, with the shards that
 * hold each one's data: only those are read), read by the caller.
 */
export async function snapshotAtStart(
  usage: Pick<UsageStore, "snapshotAt" | "statefulEventsOf">,
  account: Account,
  periodId: PeriodId,
  usagePeriods: readonly UsagePeriod[],
  products: ProductCatalogue = builtInProducts,
): Promise<CarriedFacts> {
  // Without any stateful event up to the period, the snapshot is the empty one: no read.
  if (noStatefulHistory(usagePeriods, periodId)) return carryOver(account, periodId, [], undefined, products);
  const stored = await usage.snapshotAt(account.accountId, periodId);
  if (stored) return stored;
  const start = periodWindow(periodId, account.timezone).start;
  // Local months: an event before the start is stored under a period up to this one (UTC periods differ).
  const earlier = usagePeriods.filter((p) => p.period <= periodId).map((p) => p.period);
  const events =
    earlier.length > 0
      ? await usage.statefulEventsOf(account.accountId, earlier, shardsOf(usagePeriods))
      : [];
  return carryOver(
    account,
    periodId,
    events.filter((e) => e.t < start),
    undefined,
    products,
  );
}

/**
 * True when no raw (stateful) event of the account was stored in any period up to `periodId`: every
 * such usage marker records its page shards and none has one. The snapshot at the start of
 * the period after it is then the empty one (carried facts come only from stateful events), so a
 * counters-only account's close neither reads nor writes a snapshot.
 */
export const noStatefulHistory = (usagePeriods: readonly UsagePeriod[], periodId: PeriodId): boolean =>
  usagePeriods.every((p) => p.period > periodId || (p.pageShards !== undefined && p.pageShards.length === 0));

/** The period's own raw events (and the look-ahead's), counters, and the snapshot at its start. */
export async function loadPeriodState(
  usage: UsageStore,
  account: Account,
  periodId: PeriodId,
  usagePeriods: readonly UsagePeriod[],
  carried?: CarriedFacts,
  products: ProductCatalogue = builtInProducts,
): Promise<PeriodState> {
  const period = periodWindow(periodId, account.timezone);
  const lookahead = products.longestReachBack;
  const lastPeriod = periodOf(period.end + lookahead - 1, account.timezone);
  const own = usagePeriods.filter((p) => p.period >= periodId && p.period <= lastPeriod).map((p) => p.period);
  const where = shardsOf(usagePeriods);
  // A period without a marker holds no usage: nothing to read (a marker precedes every commit).
  const marked = where.has(periodId);
  const [snapshot, raw, counters] = await Promise.all([
    carried ?? snapshotAtStart(usage, account, periodId, usagePeriods, products),
    own.length > 0 ? usage.statefulEventsOf(account.accountId, own, where) : Promise.resolve([]),
    marked ? usage.countersOf(account.accountId, periodId, where) : Promise.resolve(NO_COUNTERS),
  ]);
  return {
    periodId,
    carried: snapshot,
    events: raw.filter((e) => e.t >= period.start && e.t < period.end + lookahead),
    counters,
  };
}

export function rateAccountPeriod(
  account: Account,
  tariff: Tariff,
  state: PeriodState,
  products: ProductCatalogue = builtInProducts,
): PeriodRating {
  return ratePeriod({
    account,
    tariff,
    periodId: state.periodId,
    events: state.events,
    counters: state.counters,
    carried: state.carried,
    products,
  });
}

/** The snapshot at the start of the next period: this one's snapshot carried over its own events. */
export function snapshotAfter(
  account: Account,
  state: PeriodState,
  products: ProductCatalogue = builtInProducts,
): CarriedFacts {
  const end = periodWindow(state.periodId, account.timezone).end;
  return carryOver(
    account,
    shiftPeriod(state.periodId, 1),
    state.events.filter((e) => e.t < end),
    state.carried,
    products,
  );
}

/** Structural equality of two snapshots (JSON of the same shape, built the same way). */
export const sameSnapshot = (a: CarriedFacts, b: CarriedFacts | undefined): boolean =>
  b !== undefined && JSON.stringify(a) === JSON.stringify(b);

/**
 * Rates the periods `from` … `to` of an account forward from the snapshot at the start of `from`:
 * each period from its own state and the snapshot carried over the one before. Every snapshot
 * after `from` up to the start of `to` that this changes is stored again (late events, G7, in a
 * closed period change what it carries into the later ones). A period strictly between them is
 * rated when it is in `rate`, or when the state carried into it changed and `reached` (called
 * before its new snapshot is stored, so that it can record the period durably first) says it is
 * closed: the carried state of a late event reaches it. Returns the rating of each period rated,
 * those reached, and the state of `to`.
 */
export async function rateForward(
  usage: UsageStore,
  account: Account,
  tariff: Tariff,
  from: PeriodId,
  to: PeriodId,
  usagePeriods: readonly UsagePeriod[],
  rate: ReadonlySet<PeriodId>,
  reached: (period: PeriodId) => Promise<boolean> = async () => false,
  /** The configuration version that rates each period (contract §2); default: `account` and `tariff`. */
  versionOf?: (p: PeriodId) => { readonly account: Account; readonly tariff: Tariff },
  products: ProductCatalogue = builtInProducts,
): Promise<{ ratings: Map<PeriodId, PeriodRating>; reached: PeriodId[]; state: PeriodState }> {
  const ratings = new Map<PeriodId, PeriodRating>();
  const changed: PeriodId[] = [];
  let state = await loadPeriodState(usage, account, from, usagePeriods, undefined, products);
  for (let p = from; ; ) {
    const v = versionOf?.(p) ?? { account, tariff };
    if (rate.has(p) || p === to || changed.includes(p))
      ratings.set(p, rateAccountPeriod(v.account, v.tariff, state, products));
    if (p >= to) return { ratings, reached: changed, state };
    const next = snapshotAfter(account, state, products);
    p = next.period;
    if (!sameSnapshot(next, await usage.snapshotAt(account.accountId, p))) {
      if (p < to && !rate.has(p) && (await reached(p))) changed.push(p);
      await usage.putSnapshot(account.accountId, next);
    }
    state = await loadPeriodState(usage, account, p, usagePeriods, next, products);
  }
}

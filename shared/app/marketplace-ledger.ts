/**
 * What the Marketplace reporter and reconciliation read of an account's ledger: the raw events of
 * the billing months in play only, and the carry-over snapshot at the first one's start (written by
 * the close of the month before), carried over those months in memory. Rules evaluated from
 * (snapshot + the months' events) give the same charges as from the whole history
 * (test/property/carry-over.test.ts), so the reads depend on the months in play, not on the
 * account's age: one Query of the usage markers, one of the snapshot and the months' page
 * partitions named by their markers.
 *
 * When the snapshot at the first month's start was never written (that month's predecessor was
 * never closed, e.g. an account's first months), it is built from the earlier months' raw events,
 * as the close builds a missing one (rate-account-period.ts): correct, but a read of the history
 * until the close writes it. `fromHistory` says so.
 */
import type { Account } from "../contract/accounts.js";
import { type CarriedFacts, carryOver } from "../core/rating/carry.js";
import type { LedgerEvent } from "../core/rating/types.js";
import { type PeriodId, periodOf, periodWindow, shiftPeriod } from "../core/time.js";
import type { LedgerStore } from "../ports/storage.js";
import { shardsOf } from "../ports/usage-store.js";
import { noStatefulHistory, snapshotAtStart } from "./rate-account-period.js";

export interface MarketplaceLedger {
  /** The account's raw events with `start(from) ≤ t < until`, any order. */
  readonly events: readonly LedgerEvent[];
  /** The carry-over snapshot at the start of each month from `from` to the month of `until`. */
  readonly carried: ReadonlyMap<PeriodId, CarriedFacts>;
  /** True when no stored snapshot was found and earlier months' events were read to build it. */
  readonly fromHistory: boolean;
}

export async function loadMarketplaceLedger(
  ledger: LedgerStore,
  account: Account,
  from: PeriodId,
  until: number,
): Promise<MarketplaceLedger> {
  const tz = account.timezone;
  const start = periodWindow(from, tz).start;
  const lastMonth = until > start ? periodOf(until - 1, tz) : from;
  const markers = await ledger.usageMarkers(account.accountId);
  const inPlay = markers.filter((m) => m.period >= from && m.period <= lastMonth).map((m) => m.period);
  let fromHistory = false;
  const snapshotAtFrom = async (): Promise<CarriedFacts> => {
    // No raw event stored in any month before: the snapshot is the empty one, nothing to read.
    if (noStatefulHistory(markers, shiftPeriod(from, -1))) return carryOver(account, from, []);
    const stored = await ledger.snapshotAt(account.accountId, from);
    if (stored) return stored;
    fromHistory = true;
    return snapshotAtStart(ledger, account, from, markers);
  };
  const [first, raw] = await Promise.all([
    snapshotAtFrom(),
    inPlay.length > 0
      ? ledger.statefulEventsOf(account.accountId, inPlay, shardsOf(markers))
      : Promise.resolve([]),
  ]);
  const events = raw.filter((e) => e.t >= start && e.t < until);
  const carried = new Map<PeriodId, CarriedFacts>([[from, first]]);
  let snapshot = first;
  for (let p = from; p < lastMonth; p = shiftPeriod(p, 1)) {
    const end = periodWindow(p, tz).end;
    const own = events.filter((e) => e.t < end && e.t >= periodWindow(p, tz).start);
    snapshot = carryOver(account, shiftPeriod(p, 1), own, snapshot);
    carried.set(snapshot.period, snapshot);
  }
  return { events, carried, fromHistory };
}

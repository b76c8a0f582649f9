/**
 * The close worker's memory budget: the accounts of one close batch are closed side by side only
 * while the raw events they hold fit in the function's memory together. A close rates its period
 * from every raw (stateful) event of the period held at once (the rules read them together), so
 * its memory grows with the account's size; ten large accounts closed at once in one 1,024 MB
 * function would run it out of memory and send the whole batch back to the queue, then to the DLQ.
 *
 * Each close holds a lease. Before a read of raw events parses its pages (already fetched,
 * deflated: each page records its event count), the lease reserves the events' estimated size; the
 * reservation waits while it does not fit beside what the other closes of the container hold. A
 * close whose events alone exceed the budget runs when no other close holds any: it closes alone.
 * A close that already holds a reservation and needs more (a late period, a snapshot rebuilt from
 * earlier months) is served before new closes; only when every close holding memory is itself
 * waiting does the oldest of them go over the budget (waiting longer could never end).
 * The size is measured, not assumed: the bytes per raw event come from bench:close (see
 * docs/performance.md), and the estimate is the pages' own event count, exact at ingest.
 */
import type { LedgerEvent } from "../core/rating/types.js";
import type { PeriodId } from "../core/time.js";
import type { RawEventsSize, ShardsOf, UsageStore } from "../ports/usage-store.js";

/**
 * Memory per raw event held by a close (the event, its share of the canonical-order copies, the
 * rules' working sets and the garbage parsing leaves until the next collection): bench:close (c)
 * measured ≈ 550 B of RSS per raw event over the process's RSS before the close (500,000 raw
 * events, docs/performance.md); a quarter more for events with larger data (calls, sessions).
 */
export const BYTES_PER_RAW_EVENT = 700;
/** What a close holds besides its raw events (counters, lines, SDK buffers, the report). */
export const BYTES_PER_CLOSE = 8 * 2 ** 20;
/**
 * The worker's own footprint in its function (Node.js, SDK clients, code): not for closes. Set to
 * the RSS bench:close measured before its big close (≈ 250 MiB, with the local SQS server in the
 * same process): an upper bound for the Lambda, which has no server in it.
 */
export const WORKER_BASELINE_MB = 256;

export interface CloseBudgetStats {
  /** Most reserved at once, in bytes. */
  readonly peakReserved: number;
  /** Most closes holding a reservation of raw events at once. */
  readonly peakHoldingRaw: number;
  /** Reservations that had to wait for others to finish. */
  readonly waits: number;
  /** Reservations granted over the budget (alone, or the deadlock breaker). */
  readonly overBudget: number;
}

interface Pending {
  readonly lease: CloseLease;
  readonly bytes: number;
  readonly raw: boolean;
  readonly grant: () => void;
}

export class CloseMemoryBudget {
  private reserved = 0;
  private readonly queue: Pending[] = [];
  private readonly holders = new Set<CloseLease>();
  private stats = { peakReserved: 0, peakHoldingRaw: 0, waits: 0, overBudget: 0 };

  /**
   * @param capacityBytes what the closes of one container may hold together
   * @param bytesPerRawEvent heap per raw event held (BYTES_PER_RAW_EVENT unless measured otherwise)
   */
  constructor(
    readonly capacityBytes: number,
    readonly bytesPerRawEvent = BYTES_PER_RAW_EVENT,
    readonly bytesPerClose = BYTES_PER_CLOSE,
  ) {
    if (!(capacityBytes > 0)) throw new RangeError(`close memory budget must be positive: ${capacityBytes}`);
  }

  /** The budget of a close worker in a function of `functionMemoryMb` (its baseline set aside). */
  static forFunctionMemory(functionMemoryMb: number): CloseMemoryBudget {
    return new CloseMemoryBudget(Math.max(64, functionMemoryMb - WORKER_BASELINE_MB) * 2 ** 20);
  }

  /** A lease for one close; release it when the close ends, however it ends. */
  lease(): CloseLease {
    return new CloseLease(this);
  }

  snapshot(): CloseBudgetStats {
    return { ...this.stats };
  }

  /** @internal */
  request(lease: CloseLease, bytes: number, raw: boolean): Promise<void> {
    return new Promise((grant) => {
      const pending: Pending = { lease, bytes, raw, grant };
      this.queue.push(pending);
      this.pump();
      if (this.queue.includes(pending)) this.stats.waits += 1;
    });
  }

  /** @internal */
  release(lease: CloseLease): void {
    this.reserved -= lease.held;
    this.holders.delete(lease);
    lease.held = 0;
    lease.holdsRaw = false;
    this.pump();
  }

  private pump(): void {
    for (;;) {
      // Closes already holding memory first (they cannot finish, and free it, without more).
      const order = [...this.queue].sort(
        (a, b) => Number(this.holders.has(b.lease)) - Number(this.holders.has(a.lease)),
      );
      const running = [...this.holders].filter((l) => !this.queue.some((p) => p.lease === l)).length;
      const next =
        order.find((p) => this.reserved + p.bytes <= this.capacityBytes) ??
        (running === 0 ? order[0] : undefined);
      if (!next) return;
      this.queue.splice(this.queue.indexOf(next), 1);
      if (this.reserved + next.bytes > this.capacityBytes) this.stats.overBudget += 1;
      this.reserved += next.bytes;
      next.lease.held += next.bytes;
      if (next.raw) next.lease.holdsRaw = true;
      this.holders.add(next.lease);
      this.stats.peakReserved = Math.max(this.stats.peakReserved, this.reserved);
      this.stats.peakHoldingRaw = Math.max(
        this.stats.peakHoldingRaw,
        [...this.holders].filter((l) => l.holdsRaw).length,
      );
      next.grant();
    }
  }
}

/** One close's share of the budget. */
export class CloseLease {
  /** @internal */
  held = 0;
  /** @internal */
  holdsRaw = false;
  private released = false;

  constructor(private readonly budget: CloseMemoryBudget) {}

  /** Waits until the close's own footprint fits (before it starts). */
  start(): Promise<void> {
    return this.budget.request(this, this.budget.bytesPerClose, false);
  }

  /** Waits until `size` raw events fit beside what the other closes hold. */
  reserveRaw(size: RawEventsSize): Promise<void> {
    if (size.events === 0) return Promise.resolve();
    return this.budget.request(this, size.events * this.budget.bytesPerRawEvent, true);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.release(this);
  }
}

/** The usage store as one close sees it: each read of raw events reserves its size on the lease before its pages are parsed. */
export function budgetedUsage(usage: UsageStore, lease: CloseLease): UsageStore {
  return {
    ...delegate(usage),
    statefulEventsOf: (accountId, periods, where, opts) =>
      usage.statefulEventsOf(accountId, periods, where, {
        beforeDecode: async (size) => {
          await lease.reserveRaw(size);
          await opts?.beforeDecode?.(size);
        },
      }),
  };
}

/**
 * The usage store as one close run sees it: each period's raw events are read (and held) once for
 * the run. A first close reads its period both for the snapshot it rebuilds from the account's
 * earlier events and for its own rating: one copy of a large period, not two. The events are
 * shared read-only between the callers (the rules never change an event).
 */
export function rawEventsReadOnce(usage: UsageStore): UsageStore {
  const read = new Map<string, Promise<LedgerEvent[]>>();
  const periodEvents = (accountId: string, period: PeriodId, where: ShardsOf | undefined) => {
    const key = JSON.stringify([accountId, period]);
    let events = read.get(key);
    if (!events) {
      events = usage.statefulEventsOf(accountId, [period], where);
      read.set(key, events);
    }
    return events;
  };
  return {
    ...delegate(usage),
    statefulEventsOf: async (accountId, periods, where) =>
      (await Promise.all(periods.map((p) => periodEvents(accountId, p, where)))).flat(),
  };
}

/** Every method of `usage`, bound to it. */
function delegate(usage: UsageStore): UsageStore {
  return {
    ...(usage.journal ? { journal: usage.journal } : {}),
    ...(usage.foldInline !== undefined ? { foldInline: usage.foldInline } : {}),
    ingest: (events, now) => usage.ingest(events, now),
    usagePeriods: (accountId) => usage.usagePeriods(accountId),
    usageMarkers: (accountId) => usage.usageMarkers(accountId),
    statefulEventsOf: (accountId, periods, where, opts) =>
      usage.statefulEventsOf(accountId, periods, where, opts),
    rawEventsStoredSince: (accountId, period, since, limit) =>
      usage.rawEventsStoredSince(accountId, period, since, limit),
    countersOf: (accountId, period, where) => usage.countersOf(accountId, period, where),
    periodConflicts: (accountId, period, where) => usage.periodConflicts(accountId, period, where),
    snapshotAt: (accountId, period) => usage.snapshotAt(accountId, period),
    putSnapshot: (accountId, snapshot) => usage.putSnapshot(accountId, snapshot),
  };
}

/**
 * The usage store (docs/data-model.md): each event identity (source + id, G5) claimed once, and the
 * effects of every newly claimed event — monthly counters of counted events, raw stateful events —
 * committed atomically per attempt, so that a crash at any point followed by a re-delivery
 * changes nothing.
 */
import type { Account } from "../contract/accounts.js";
import type { Tariff } from "../contract/tariffs.js";
import type { AccountHistory } from "../core/account-versions.js";
import type { CarriedFacts } from "../core/rating/carry.js";
import type { Contribution, PeriodCounters } from "../core/rating/counters.js";
import type { EventSample, LedgerEvent } from "../core/rating/types.js";
import type { PeriodId } from "../core/time.js";
import type { UsageJournal } from "./usage-journal.js";

/** A validated event of a batch, ready to be stored. */
export interface PreparedEvent {
  readonly event: LedgerEvent;
  /** SHA-256 of the canonical content (type, subject, time, data): tells duplicates from conflicts. */
  readonly hash: string;
  readonly accountId: string;
  /** What the event adds: counters of its period, or itself as a raw (stateful) event. */
  readonly contribution: Contribution;
  /** The event's own JSON, kept with a conflict. */
  readonly body: string;
  /** The end of the event's period for the account (the unclosed-usage index, shared/ports/unclosed-usage.ts). */
  readonly periodEnd?: number;
  /**
   * Periods whose close the event can change (its own; a Viber session message's opener's too),
   * each with whether the event carries state into later periods: the fold checks them for a close
   * after it applied the event (write-then-check). Absent: its own period, no state carried.
   */
  readonly checks?: readonly (readonly [PeriodId, boolean])[];
}

export type StoreOutcome =
  | { readonly kind: "stored"; readonly accountId: string; readonly period: PeriodId }
  /** Same identity already committed with the same content. */
  | { readonly kind: "duplicate"; readonly accountId: string; readonly period: PeriodId }
  /** Same identity committed with other content: the first wins, the conflict is recorded under it. */
  | { readonly kind: "conflict"; readonly accountId: string; readonly period: PeriodId }
  /** Claimed by an attempt that may still be running: leave it to SQS to deliver again later. */
  | { readonly kind: "retry"; readonly reason: string };

export interface UsageStore {
  /**
   * The journal ingest writes and the fold applies (shared/app/fold-usage.ts). Whoever reads
   * counters or pages folds the account's shard first (close, reporter, preview).
   */
  readonly journal?: UsageJournal;
  /**
   * The local run and tests: every batch is folded right after it is stored (the shards of its
   * accounts), so what was ingested is readable at once. Deployed ingest leaves it to the fold.
   */
  readonly foldInline?: boolean;
  /** Stores a batch; one outcome per input, in order. Throws on an unexpected error (nothing is then half-counted). */
  ingest(events: readonly PreparedEvent[], now: number): Promise<StoreOutcome[]>;
  /** Periods of the account that hold usage (any event ever claimed for them). */
  usagePeriods(accountId: string): Promise<PeriodId[]>;
  /** The same periods with the shards each one's events went to, as recorded at ingest. */
  usageMarkers(accountId: string): Promise<UsagePeriod[]>;
  /**
   * The account's raw (stateful) events of the given periods. `where` (the markers read by the
   * caller) limits the read to the shards recorded at ingest; without it every shard is read.
   */
  statefulEventsOf(
    accountId: string,
    periods: readonly PeriodId[],
    where?: ShardsOf,
    opts?: RawEventsReadOptions,
  ): Promise<LedgerEvent[]>;
  /**
   * Identities of the raw events of the account's period stored at or after `since` (epoch ms),
   * from the page keys (attempt ids begin with the storage time): the late events of a closed
   * period (G7), for explanations. At most `limit`, read page range by page range.
   */
  rawEventsStoredSince(
    accountId: string,
    period: PeriodId,
    since: number,
    limit: number,
  ): Promise<EventSample[]>;
  /** The period's monthly counters, summed over shards (`where`: as for statefulEventsOf). */
  countersOf(accountId: string, period: PeriodId, where?: ShardsOf): Promise<PeriodCounters>;
  /**
   * The conflicts reported in the account's period (the first-stored version's period), in key order,
   * page by page from the per-(account, period) index written with each conflict (without bodies).
   * `where` (the markers read by the caller): none read when the period's marker says none was
   * recorded.
   */
  periodConflicts(accountId: string, period: PeriodId, where?: ShardsOf): AsyncIterable<PeriodConflict>;
  /** The carry-over snapshot at the start of `period`, written by the close of the period before. */
  snapshotAt(accountId: string, period: PeriodId): Promise<CarriedFacts | undefined>;
  /** Stores a snapshot (chunked, its head last: a reader sees the whole previous one or the whole new one). */
  putSnapshot(accountId: string, snapshot: CarriedFacts): Promise<void>;
}

/**
 * A period with usage and the shards that hold it. A shard list is absent when it was not
 * recorded (usage stored before markers named their shards): every shard is then read.
 */
export interface UsagePeriod {
  readonly period: PeriodId;
  /** Shards of the period's counters (counted events). */
  readonly counterShards?: readonly number[];
  /** Shards of the period's pages of raw (stateful) events. */
  readonly pageShards?: readonly number[];
  /** Flagged with the period's close lines: a later close need not read its close record. */
  readonly closed?: boolean;
  /** No conflict was recorded for the period (a marker that tracks them): none to read. */
  readonly noConflicts?: boolean;
}

/** How much a read of raw events is about to decode (statefulEventsOf's `beforeDecode`). */
export interface RawEventsSize {
  /** Events in the pages read (each page records its count). */
  readonly events: number;
  /** The pages' deflated bytes, as read. */
  readonly deflatedBytes: number;
}

export interface RawEventsReadOptions {
  /**
   * Called once the read's pages are fetched (still deflated) and before any is parsed: the close
   * worker's memory budget waits here until the events fit beside the other closes' (close-budget.ts).
   */
  readonly beforeDecode?: (size: RawEventsSize) => Promise<void>;
}

/** Markers by period (usageMarkers), telling a read which shards to query. */
export type ShardsOf = ReadonlyMap<PeriodId, UsagePeriod>;

export const shardsOf = (markers: readonly UsagePeriod[]): ShardsOf =>
  new Map(markers.map((m) => [m.period, m]));

/** A conflict as the close report lists it. */
export interface PeriodConflict {
  readonly source: string;
  readonly id: string;
  readonly seenAt: number;
}

export interface RatedAccount {
  /** The account's current configuration (its last version, when it is ended). */
  readonly account: Account;
  readonly tariff: Tariff;
  /**
   * Every version of the account's configuration and its end (contract §2): the version a period
   * is rated with, the account's zone schedule, events after its end. Absent: one version only.
   */
  readonly history?: AccountHistory;
}

/** O(1) account (and tariff) lookup for ingest; `batchCache` holds one lookup per account per batch. */
export interface AccountDirectory {
  lookup(
    accountId: string,
    batchCache?: Map<string, Promise<RatedAccount | undefined>>,
  ): Promise<RatedAccount | undefined>;
}

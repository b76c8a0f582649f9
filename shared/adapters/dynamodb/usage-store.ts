/**
 * The usage store on the billing table (docs/data-model.md has the full model and its arithmetic);
 * its parts live in ./usage/ (keys, claims, attempts, markers, conflicts, period reads, snapshots)
 * and ./fold/ (journals, fold state, counter bundles).
 *
 * | item                 | pk                                   | sk                         |
 * |----------------------|--------------------------------------|----------------------------|
 * | identity claim (G5)  | ID#<JSON [source, id]>               | ID                         |
 * | attempt commit       | COMMIT#<attempt id>                  | COMMIT                     |
 * | journal              | JRNL#<fold shard>#<UTC day>          | <attempt id>#<part>        |
 * | fold state           | FOLD#<fold shard>                    | STATE                      |
 * | counter bundle       | CTR#<account>#<period>#0             | #BUNDLE                    |
 * | monthly counter      | CTR#<account>#<period>#<shard>       | <JSON counter key>         |
 * | page of raw events   | EVT#<account>#<period>#<shard>       | <instant>-<run or attempt>#<n> |
 * | usage period marker  | ACCT#<account>                       | USAGE#<period>             |
 * | conflict (G5)        | ACCT#<account>                       | CONFLICT#<JSON>#<hash>     |
 * | conflict index       | CONFLICTS#<account>#<period>         | <JSON>#<hash>              |
 * | carry-over snapshot  | SNAP#<account>#<period>              | PART#<write id>#<n>, HEAD  |
 *
 * Protocol of one `ingest` call (one handler invocation):
 * 1. the batch's distinct identities form an attempt; each identity is claimed by it with a
 *    conditional insert, 25 per request (`ReturnValuesOnConditionCheckFailure: ALL_OLD`; where the
 *    service returns no item for a duplicate, one consistent BatchGetItem per 100 duplicates reads
 *    the existing claims);
 * 2. a claim owned by another attempt X: X committed → duplicate or conflict (first wins); X aborted
 *    → take the claim over; X neither and older than the cutoff → X is dead: abort it (put
 *    COMMIT#X "aborted" if absent, so X's own commit can never succeed), then take over; X young →
 *    "retry" (SQS delivers the message again later);
 * 3. the attempt writes its journals (one per fold shard its accounts fall in), then its commit
 *    record (attribute_not_exists). Effects exist iff the commit does: the fold
 *    (shared/app/fold-usage.ts) applies a journal only once its commit exists, exactly once.
 * On an unexpected error the attempts not committed abort themselves (best effort), so that an
 * immediate re-delivery can take their claims over; after a crash, the cutoff does it.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mapLimit } from "../../core/map-limit.js";
import type { CarriedFacts } from "../../core/rating/carry.js";
import type { PeriodCounters } from "../../core/rating/counters.js";
import type { EventSample, LedgerEvent } from "../../core/rating/types.js";
import type { PeriodId } from "../../core/time.js";
import type { LedgerStore } from "../../ports/storage.js";
import type {
  PeriodConflict,
  PreparedEvent,
  RawEventsReadOptions,
  ShardsOf,
  StoreOutcome,
  UsagePeriod,
  UsageStore,
} from "../../ports/usage-store.js";
import { DynamoUsageJournal } from "./fold/usage-journal.js";
import { commitAttempt, packPages, planAttempts } from "./usage/attempts.js";
import {
  attemptCutoffMsFor,
  DEFAULT_INGEST_TIMEOUT_MS,
  IdentityClaims,
  MIN_ATTEMPT_CUTOFF_TIMEOUTS,
  type Winner,
} from "./usage/claims.js";
import { periodConflicts, putConflicts } from "./usage/conflicts.js";
import { ctrPk, identityOf, USAGE_SHARDS, type UsageTable } from "./usage/keys.js";
import { markUsage } from "./usage/markers.js";
import { UsagePeriodReads } from "./usage/period-reads.js";
import { DynamoSnapshotStore } from "./usage/snapshots.js";

export { packPages } from "./usage/attempts.js";
export {
  ATTEMPT_CUTOFF_TIMEOUTS,
  attemptCutoffMsFor,
  DEFAULT_ATTEMPT_CUTOFF_MS,
  DEFAULT_INGEST_TIMEOUT_MS,
  MIN_ATTEMPT_CUTOFF_TIMEOUTS,
  StatementsRefusedError,
} from "./usage/claims.js";
export { ctrPk, EVENTS_SK, evtPk, USAGE_SHARDS } from "./usage/keys.js";
export { markUsage } from "./usage/markers.js";
export { DynamoSnapshotStore } from "./usage/snapshots.js";

export interface UsageStoreOptions {
  readonly shards?: number;
  /** The ingest function's timeout: the take-over cut-off is derived from it (attemptCutoffMsFor). */
  readonly ingestTimeoutMs?: number;
  /**
   * The cut-off itself, for tests that move a virtual clock past it; at least
   * MIN_ATTEMPT_CUTOFF_TIMEOUTS × `ingestTimeoutMs` when both are given.
   */
  readonly attemptCutoffMs?: number;
  /**
   * Claim requests (of 25 inserts) in flight at once, and claim resolutions (default 16: 30,000
   * events, Lambda's 6 MB payload, take ≈ 1,200 requests; DynamoDB Local, one JVM, prefers fewer).
   */
  readonly claimConcurrency?: number;
  /**
   * Fold each batch's shards right after it is stored (default: the local run and tests, where what
   * was ingested must be readable at once). Deployed ingest sets false: the scheduled fold does it.
   */
  readonly foldInline?: boolean;
}

/** The usage store: the parts in ./usage/, composed into the ingest protocol above and the reads. */
export class DynamoUsageStore implements UsageStore, LedgerStore {
  private readonly shards: number;
  /** Claims of an attempt older than this are taken over (its invocation is dead). */
  readonly cutoffMs: number;
  private readonly claimConcurrency: number;
  private readonly t: UsageTable;
  private readonly claims: IdentityClaims;
  private readonly reads: UsagePeriodReads;
  private readonly snapshots: DynamoSnapshotStore;
  /** The journal the attempts write and the fold applies (fold/usage-journal.ts). */
  readonly journal: DynamoUsageJournal;
  readonly foldInline: boolean;

  constructor(client: DynamoDBClient, table: string, opts: UsageStoreOptions = {}) {
    this.shards = opts.shards ?? USAGE_SHARDS;
    const timeoutMs = opts.ingestTimeoutMs ?? DEFAULT_INGEST_TIMEOUT_MS;
    this.cutoffMs = opts.attemptCutoffMs ?? attemptCutoffMsFor(timeoutMs);
    if (this.cutoffMs < MIN_ATTEMPT_CUTOFF_TIMEOUTS * (opts.ingestTimeoutMs ?? 0))
      throw new RangeError(
        `the take-over cut-off (${this.cutoffMs} ms) must be at least ${MIN_ATTEMPT_CUTOFF_TIMEOUTS} ingest timeouts (${timeoutMs} ms)`,
      );
    this.claimConcurrency = opts.claimConcurrency ?? 16;
    this.t = { client, table };
    this.claims = new IdentityClaims(this.t, this.cutoffMs, this.claimConcurrency);
    this.reads = new UsagePeriodReads(this.t, this.shards);
    this.snapshots = new DynamoSnapshotStore(client, table);
    this.foldInline = opts.foldInline ?? true;
    this.journal = new DynamoUsageJournal(client, table, this.cutoffMs, {
      markUsage: (accountId, period, cs, ps, index) =>
        markUsage(client, table, accountId, period, cs, ps, index),
      ctrPk,
      packPages,
    });
  }

  async ingest(events: readonly PreparedEvent[], now: number): Promise<StoreOutcome[]> {
    if (events.length === 0) return [];
    const { groups, attempts, attemptOf } = planAttempts(events, now);

    // Claims, then the resolution of claims held by other attempts.
    let mine: Set<number>;
    let winners: Map<string, Winner | "retry">;
    const committedAttempts = new Set<string>();
    try {
      ({ mine, winners } = await this.claims.claim(
        [...groups].map(([identity, [first]]) => ({
          identity,
          index: first!,
          p: events[first!]!,
          attempt: attemptOf.get(first!)!.id,
        })),
        now,
      ));

      // Per attempt: its journals, then its commit record (the fold applies a journal only then).
      await mapLimit(attempts, 4, async (a) => {
        const members = a.members.filter((i) => mine.has(i));
        if (members.length === 0) return;
        if (
          await commitAttempt(
            this.t,
            a,
            members.map((i) => events[i]!),
            now,
            this.journal.shards,
          )
        )
          committedAttempts.add(a.id);
        else for (const i of members) winners.set(identityOf(events[i]!.event), "retry");
      });
    } catch (e) {
      // Release our claims for an immediate re-delivery: an aborted attempt's claims are taken over.
      await Promise.allSettled(
        attempts.filter((a) => !committedAttempts.has(a.id)).map((a) => this.claims.abort(a.id, now)),
      );
      throw e;
    }

    const out: StoreOutcome[] = new Array(events.length);
    const conflicts: [PreparedEvent, Winner][] = [];
    for (const [identity, indexes] of groups) {
      const first = indexes[0]!;
      const w: Winner | "retry" | undefined = mine.has(first)
        ? winners.get(identity) === "retry"
          ? "retry"
          : {
              hash: events[first]!.hash,
              accountId: events[first]!.accountId,
              period: events[first]!.contribution.period,
              t: events[first]!.event.t,
            }
        : winners.get(identity);
      for (const i of indexes) {
        const p = events[i]!;
        if (w === undefined || w === "retry")
          out[i] = { kind: "retry", reason: "claimed by a running attempt" };
        else if (i === first && mine.has(first))
          out[i] = { kind: "stored", accountId: w.accountId, period: w.period };
        else if (p.hash === w.hash) out[i] = { kind: "duplicate", accountId: w.accountId, period: w.period };
        else {
          conflicts.push([p, w]);
          out[i] = { kind: "conflict", accountId: w.accountId, period: w.period };
        }
      }
    }
    await putConflicts(this.t, conflicts, now, this.claimConcurrency);
    return out;
  }

  // ---- reads (close, preview, Marketplace reporter): usage/period-reads.ts ----
  usagePeriods(accountId: string): Promise<PeriodId[]> {
    return this.reads.usagePeriods(accountId);
  }

  usageMarkers(accountId: string): Promise<UsagePeriod[]> {
    return this.reads.usageMarkers(accountId);
  }

  statefulEventsOf(
    accountId: string,
    periods: readonly PeriodId[],
    where?: ShardsOf,
    opts?: RawEventsReadOptions,
  ): Promise<LedgerEvent[]> {
    return this.reads.statefulEventsOf(accountId, periods, where, opts);
  }

  rawEventsStoredSince(
    accountId: string,
    period: PeriodId,
    since: number,
    limit: number,
  ): Promise<EventSample[]> {
    return this.reads.rawEventsStoredSince(accountId, period, since, limit);
  }

  eventsOf(accountId: string, until: number): Promise<LedgerEvent[]> {
    return this.reads.eventsOf(accountId, until);
  }

  countersOf(accountId: string, period: PeriodId, where?: ShardsOf): Promise<PeriodCounters> {
    return this.reads.countersOf(accountId, period, where);
  }

  periodConflicts(accountId: string, period: PeriodId, where?: ShardsOf): AsyncIterable<PeriodConflict> {
    return periodConflicts(this.t, accountId, period, where);
  }

  snapshotAt(accountId: string, period: PeriodId): Promise<CarriedFacts | undefined> {
    return this.snapshots.snapshotAt(accountId, period);
  }

  putSnapshot(accountId: string, snapshot: CarriedFacts): Promise<void> {
    return this.snapshots.putSnapshot(accountId, snapshot);
  }
}

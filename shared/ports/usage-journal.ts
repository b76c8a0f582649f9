/**
 * The usage journal and its fold state (docs/data-model.md, "Journal and fold"): what the fold use
 * case (shared/app/fold-usage.ts) needs from storage. Ingest writes journals and commits through the
 * usage store; the fold lists them per shard, learns which attempts committed, and applies a run's
 * sums to the monthly counters, pages and markers exactly once.
 */
import type { CommitState, FoldedGroup, FoldState, Journal, PendingProbe } from "../core/usage-fold.js";

export interface UsageJournal {
  /** Fold shards (core/usage-fold.ts foldShardOf). */
  readonly shards: number;
  /** The take-over cut-off: an attempt older than this that has not committed is dead. */
  readonly cutoffMs: number;
  /** The shard's state (consistent read); undefined before its first run. */
  readState(shard: number): Promise<FoldState | undefined>;
  /**
   * Journals of the shard whose attempts started after `after`, up to `until` (inclusive), oldest
   * first, at most about `maxParts` parts not of the `skip` attempts (already folded; left out):
   * `upTo` is the instant up to which the listing is complete (`until` unless the bound cut it).
   */
  listJournals(
    shard: number,
    after: number,
    until: number,
    maxParts?: number,
    skip?: ReadonlySet<string>,
  ): Promise<{ journals: Journal[]; upTo: number }>;
  /**
   * How many journal parts (at most `limit`) of attempts started after `after` and up to `until`,
   * not of the `skip` attempts, the shard holds, and their events: the scheduled fold's volume
   * probe (may lag a little).
   */
  probePending(
    shard: number,
    after: number,
    until: number,
    limit: number,
    skip?: ReadonlySet<string>,
  ): Promise<PendingProbe>;
  /** The journals of these attempts (a run redone after a crash). */
  journalsOf(shard: number, attempts: readonly string[]): Promise<Journal[]>;
  /** Each attempt's commit state (consistent reads). */
  commitStates(attempts: readonly string[]): Promise<Map<string, CommitState>>;
  /** Aborts a dead attempt unless it committed first (the take-over's put); which one holds. */
  abortAttempt(attempt: string, now: number): Promise<"committed" | "aborted">;
  /** Starts run `next.run` if the state is still `prev` (conditional write); false when another fold moved it. */
  startRun(shard: number, prev: FoldState | undefined, next: FoldState): Promise<boolean>;
  /**
   * Applies a run's groups: usage markers (and unclosed-usage entries), pages keyed by the run, and
   * counter increments each conditional on the counter not carrying this run or a later one, so a
   * run applied twice (a redo, two folds at once) adds once.
   */
  applyRun(shard: number, run: number, at: number, groups: readonly FoldedGroup[]): Promise<void>;
  /** Marks the run done (its late checks made); a no-op when it already is or another run started. */
  finishRun(shard: number, run: number): Promise<void>;
}

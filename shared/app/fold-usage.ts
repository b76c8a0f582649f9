/**
 * Folding the usage journal into the monthly state (docs/data-model.md, "Journal and fold").
 *
 * A run of one fold shard: read the shard's state; if its last run is not done (a crash, or another
 * fold still at it), redo it — the same attempts, the same run number, so every counter it already
 * reached refuses the increment again; list the shard's journals not folded yet; abort the dead
 * attempts among them (the take-over's own put), keep the committed ones; start the next run with a
 * conditional write of the state (two folds at once: one starts it, the other redoes it or lists
 * again); apply it; then the late check, write-then-check as ingest did before: after the run's
 * writes landed, the close record of each (account, period) it touched is read and the period
 * marked late when it exists — so either a close read the folded state, or the fold sees the close.
 */
import { type AccountHistory, adjustmentPeriodOf, zoneScheduleOf } from "../core/account-versions.js";
import { BillingError } from "../core/errors.js";
import { compositeKey } from "../core/keys.js";
import { mapLimit } from "../core/map-limit.js";
import { periodWindow, shiftPeriod } from "../core/time.js";
import {
  attemptStart,
  type CommitState,
  cadenceDue,
  type FoldCadence,
  type FoldedGroup,
  type FoldState,
  foldJournals,
  foldShardOf,
  JOURNAL_RETENTION_MS,
  planRun,
  RUN_BOUNDS,
} from "../core/usage-fold.js";
import type { Clock } from "../ports/clock.js";
import type { PeriodStore } from "../ports/storage.js";
import type { UnclosedUsageIndex } from "../ports/unclosed-usage.js";
import type { UsageJournal } from "../ports/usage-journal.js";
import type { AccountDirectory } from "../ports/usage-store.js";

export interface FoldDeps {
  readonly journal: UsageJournal;
  readonly periods: Pick<PeriodStore, "getClose" | "markLate">;
  readonly clock: Clock;
  /** An ended account's late event enters the close that bills its adjustment (contract §2). */
  readonly accounts?: AccountDirectory;
  readonly unclosed?: UnclosedUsageIndex;
  /** A run's bounds (tests lower them to make a cap happen): journal parts loaded, attempts taken. */
  readonly limits?: { readonly runParts?: number; readonly runAttempts?: number };
}

/** How a call folds a shard: the schedule's cadence and runs per call; none = fold everything now. */
export interface FoldOptions {
  /** Fold only when the cadence says the shard is due (the scheduled fold); absent: always. */
  readonly cadence?: FoldCadence;
  /** Runs this call may start; what is left past them waits for the next call. Default: no bound. */
  readonly maxRuns?: number;
}

/** What a fold of one shard did. */
export interface FoldResult {
  readonly shard: number;
  /** Runs this call started and applied. */
  readonly runs: number;
  /** Runs of others (crashed or concurrent) this call redid. */
  readonly redone: number;
  readonly attempts: number;
  /** (account, period) keys (compositeKey) marked late. */
  readonly late: ReadonlySet<string>;
  /** The cadence left the shard for a later tick (young and small). */
  readonly skipped: boolean;
  /** Committed journals were left past a run's bounds (the call's runs ran out): the next call goes on. */
  readonly more: boolean;
}

/** The fold kept losing its state's race to others for longer than any fold runs: ours, retried. */
export class FoldContendedError extends BillingError {
  override readonly name = "FoldContendedError";
}

const FIRST_RUN: FoldState = { run: 0, done: true, settled: 0, extra: [], attempts: [], at: 0 };
/** Rounds of "someone else moved the state" before giving up (each round is progress by another). */
const MAX_ROUNDS = 50;

/**
 * Folds every journal of the shard committed before this call began (and whatever else is
 * committed by the time it lists them), run after run when a run's bounds leave some (at most
 * `maxRuns`). Returns once the runs it listed after its start are applied and done, or when its
 * own listing found nothing to fold, or — with a cadence — at once when the shard is not due.
 */
export async function foldShard(shard: number, deps: FoldDeps, opts: FoldOptions = {}): Promise<FoldResult> {
  const late = new Set<string>();
  const maxRuns = opts.maxRuns ?? Number.POSITIVE_INFINITY;
  const runParts = deps.limits?.runParts ?? RUN_BOUNDS.parts;
  const runAttempts = deps.limits?.runAttempts ?? RUN_BOUNDS.attempts;
  let runs = 0;
  let redone = 0;
  let attempts = 0;
  let contended = 0;
  let asked = false;
  const result = (more: boolean, skipped = false): FoldResult => ({
    shard,
    runs,
    redone,
    attempts,
    late,
    skipped,
    more,
  });
  while (contended < MAX_ROUNDS) {
    const state = await deps.journal.readState(shard);
    if (state && !state.done) {
      // A run started and not finished: redo it whole (its counters refuse a second increment).
      // Whatever the cadence: a crash is repaired at the next tick.
      const journals = await deps.journal.journalsOf(shard, state.attempts);
      await applyAndCheck(shard, state.run, state.at, foldJournals(journals), deps, late);
      await deps.journal.finishRun(shard, state.run);
      redone += 1;
      contended += 1;
      continue;
    }
    const now = deps.clock.now();
    // Attempts the last run folded early (ahead of its settled bound): never listed again.
    const early = new Set(state?.extra ?? []);
    if (opts.cadence && !asked) {
      // Asked once per call: a young shard is probed (a bounded Query of its journals started
      // since its last run, from that run's own instant on, less those it folded early) and left
      // for a later tick unless they already hold enough.
      asked = true;
      let due = cadenceDue(state, now, opts.cadence);
      if (!due && state) {
        const probe = await deps.journal.probePending(
          shard,
          state.at - 1,
          now + deps.journal.cutoffMs,
          opts.cadence.probeParts,
          early,
        );
        due = cadenceDue(state, now, opts.cadence, probe);
      }
      if (!due) return result(false, true);
    }
    const prev = state ?? { ...FIRST_RUN, settled: now - JOURNAL_RETENTION_MS };
    // Attempts stamped ahead of our clock (skew) are listed too: up to a cut-off ahead.
    // Never further back than the journals live (their TTL): a clock that jumped (a simulation's)
    // does not make the fold read years of empty days.
    const from = Math.max(prev.settled, now - JOURNAL_RETENTION_MS);
    const until = now + deps.journal.cutoffMs;
    const listing = await deps.journal.listJournals(shard, from, until, runParts, early);
    // The listing leaves the early attempts out (its memory bound); planRun never takes one again.
    const fresh = listing.journals;
    const states = await deps.journal.commitStates([...new Set(fresh.map((j) => j.attempt))]);
    // Attempts past the cut-off without a commit are dead: aborted with the take-over's put, so
    // their commit can never land after this run passed them.
    await mapLimit(
      [...states].filter(([a, s]) => s === "none" && attemptStart(a) <= now - deps.journal.cutoffMs),
      8,
      async ([a]) => states.set(a, await deps.journal.abortAttempt(a, now)),
    );
    const plan = planRun(
      prev,
      fresh.map((j) => j.attempt),
      states as ReadonlyMap<string, CommitState>,
      now,
      deps.journal.cutoffMs,
      listing.upTo,
      runAttempts,
    );
    if (!plan.changes) return result(false);
    const next: FoldState = {
      run: prev.run + 1,
      done: false,
      settled: plan.settled,
      extra: plan.extra,
      attempts: plan.attempts,
      at: now,
    };
    if (!(await deps.journal.startRun(shard, state, next))) {
      contended += 1;
      continue;
    }
    const taken = new Set(plan.attempts);
    await applyAndCheck(
      shard,
      next.run,
      now,
      foldJournals(fresh.filter((j) => taken.has(j.attempt))),
      deps,
      late,
    );
    await deps.journal.finishRun(shard, next.run);
    runs += 1;
    attempts += plan.attempts.length;
    // The bounds cut this run: the rest is listed from its settled bound by the next one.
    const more = listing.upTo < until || plan.capped;
    if (!more || runs >= maxRuns) return result(more);
  }
  throw new FoldContendedError(`fold of shard ${shard}: the state kept moving for ${MAX_ROUNDS} rounds`);
}

/** Folds the shards these accounts fall in (a close, a preview, the local run after a batch). */
export async function foldAccounts(accountIds: Iterable<string>, deps: FoldDeps): Promise<Set<string>> {
  const shards = new Set([...accountIds].map((a) => foldShardOf(a, deps.journal.shards)));
  const late = new Set<string>();
  for (const s of [...shards].sort((a, b) => a - b))
    for (const k of (await foldShard(s, deps)).late) late.add(k);
  return late;
}

/** Every shard (the scheduled fold: with its cadence and runs per call), a few at once. */
export async function foldAll(
  deps: FoldDeps,
  concurrency = 4,
  opts: FoldOptions = {},
): Promise<FoldResult[]> {
  return mapLimit(
    Array.from({ length: deps.journal.shards }, (_, s) => s),
    concurrency,
    (s) => foldShard(s, deps, opts),
  );
}

async function applyAndCheck(
  shard: number,
  run: number,
  at: number,
  groups: FoldedGroup[],
  deps: FoldDeps,
  late: Set<string>,
) {
  await deps.journal.applyRun(shard, run, at, groups);
  // Write-then-check: the run's writes have landed; now each (account, period) they change is
  // looked up for a close. Per period, "later" when one of its events carries state forward.
  const checks = new Map<string, { accountId: string; period: string; later: boolean }>();
  for (const g of groups)
    for (const [period, later] of g.checks) {
      const k = compositeKey(g.accountId, period);
      checks.set(k, { accountId: g.accountId, period, later: later || checks.get(k)?.later === true });
    }
  const now = deps.clock.now();
  const marked = new Set<string>();
  await mapLimit([...checks], 8, async ([k, c]) => {
    if (!(await deps.periods.getClose(c.accountId, c.period))) return;
    await deps.periods.markLate(c.accountId, c.period, now, { later: c.later });
    marked.add(c.accountId);
    late.add(k);
  });
  // Contract §2: an ended account's late event has no later close of the account to bill its
  // adjustment: the period of receipt is entered for a close (after the marks, so it finds them).
  if (marked.size === 0 || !deps.accounts || !deps.unclosed) return;
  const accounts = deps.accounts;
  const unclosed = deps.unclosed;
  await mapLimit([...marked], 4, async (accountId) => {
    const history = (await accounts.lookup(accountId))?.history;
    if (history?.endedAt !== undefined) await enterAdjustmentClose(deps, unclosed, accountId, history, now);
  });
}

/**
 * Enters the account-period whose close bills an ended account's late adjustments: the period of
 * receipt in the account's last zone, or the first one after it not closed yet (a period closed
 * ahead of its end by hand bills nothing more).
 */
async function enterAdjustmentClose(
  deps: FoldDeps,
  unclosed: UnclosedUsageIndex,
  accountId: string,
  history: AccountHistory,
  now: number,
) {
  let period = adjustmentPeriodOf(history, now);
  for (let i = 0; i < 12 && (await deps.periods.getClose(accountId, period)); i++)
    period = shiftPeriod(period, 1);
  await unclosed.adjustmentDue(accountId, period, periodWindow(period, zoneScheduleOf(history)).end);
}

/** The fold's dependencies from a use case's (close, ingest, reporter, preview); none without a journal. */
export function foldDepsOf(deps: {
  readonly usage: { readonly journal?: UsageJournal | undefined };
  readonly periods: Pick<PeriodStore, "getClose" | "markLate">;
  readonly clock: Clock;
  readonly accounts?: AccountDirectory | undefined;
  readonly unclosed?: UnclosedUsageIndex | undefined;
}): FoldDeps | undefined {
  const journal = deps.usage.journal;
  if (!journal) return undefined;
  return {
    journal,
    periods: deps.periods,
    clock: deps.clock,
    ...(deps.accounts ? { accounts: deps.accounts } : {}),
    ...(deps.unclosed ? { unclosed: deps.unclosed } : {}),
  };
}

/**
 * Brings the account's fold shard up to date before its counters or pages are read: every journal
 * committed before this call is folded when it returns.
 */
export async function foldForAccount(
  accountId: string,
  deps: Parameters<typeof foldDepsOf>[0] & { readonly usage: { readonly foldInline?: boolean } },
): Promise<void> {
  // The local run folds every batch as it is stored (on the receipt clock it was stamped with):
  // nothing is left for a close or the reporter to fold there. Deployed ingest leaves it all here.
  if (deps.usage.foldInline) return;
  const fold = foldDepsOf(deps);
  if (fold) await foldShard(foldShardOf(accountId, fold.journal.shards), fold);
}

/**
 * The fold of the usage journal (docs/data-model.md, "Journal and fold"), its pure part: what an
 * attempt journals for one fold shard, how a fold run sums many attempts' journals per (account,
 * period, counter), and which journals a run takes.
 *
 * Ingest no longer writes per-account items: each attempt writes, per fold shard its accounts fall
 * in, one journal (counted deltas pre-aggregated per counter, raw stateful events, the periods to
 * check for lateness), then its commit. A fold run of a shard applies every committed journal
 * once to the monthly counters, pages and markers; a journal whose attempt never committed is
 * never applied.
 */
import { createHash } from "node:crypto";
import { compareStrings } from "./compare.js";
import { compositeKey } from "./keys.js";
import { type Dec, dec } from "./money.js";
import type { LedgerEvent } from "./rating/types.js";
import type { PeriodId } from "./time.js";

/**
 * Fold shards: each account's counters, pages and markers have one fold writer (its shard). More
 * shards spread the journal writes and the fold's work; each shard an attempt touches costs it one
 * journal item (≥ 1 WRU), so a small attempt (a quiet hour's 50 messages) pays up to this many;
 * four keep that at ≈ 0.06 WRU per event and a shard's journal key at ≈ 100 WRU/s at 10,000 events/s.
 */
export const FOLD_SHARDS = 4;

/** The fold shard of an account: the first byte of the SHA-256 of its id, mod FOLD_SHARDS. */
export function foldShardOf(accountId: string, shards = FOLD_SHARDS): number {
  return createHash("sha256").update(accountId).digest()[0]! % shards;
}

/** One counter of an (account, period) as an attempt journals it: summed over the attempt's events. */
export interface JournalCounter {
  /** The counter key (counters.ts counterKey: JSON of kind, product, dimensions, version, reason). */
  readonly key: string;
  /** The summed quantity, exact decimal text. */
  readonly quantity: string;
  readonly events: number;
  /** Newest event time among them (preview freshness). */
  readonly newest: number;
  /** The attempt's first and latest sample (explanations; absent when over its size bound). */
  readonly first?: string;
  readonly latest?: string;
}

/** What one attempt adds to one (account, period). A group may be split over parts (raw events). */
export interface JournalGroup {
  readonly accountId: string;
  readonly period: PeriodId;
  /** The period's end for the account (the unclosed-usage index). */
  readonly end?: number;
  /** Periods to check for a close (write-then-check), with "carries state into later periods". */
  readonly checks: readonly (readonly [PeriodId, boolean])[];
  /** Counted events of the group (the close report's event count). */
  readonly counted: number;
  /** Newest time among counted events without any charge (the `#EVENTS` item). */
  readonly uncharged?: number;
  readonly counters: readonly JournalCounter[];
  /** Stateful events, stored raw in pages. */
  readonly raw: readonly LedgerEvent[];
}

/** A journal as the fold reads it: the attempt, its start (the attempt id's instant), its groups. */
export interface Journal {
  readonly attempt: string;
  readonly at: number;
  readonly groups: readonly JournalGroup[];
}

/**
 * How long a journal is kept (its TTL) and how far back a fold's first run looks: far longer than
 * any outage of the fold, which alarms within the hour (docs/runbook.md); a journal never folded
 * in that time would be lost, so the alarm is what stands between an outage and a loss.
 */
export const JOURNAL_RETENTION_MS = 35 * 24 * 3_600_000;

/** The start instant an attempt id carries (`<ms>-<uuid>`). */
export const attemptStart = (attempt: string): number => Number(attempt.slice(0, attempt.indexOf("-")));

export interface FoldedCounter {
  readonly key: string;
  quantity: Dec;
  events: number;
  newest: number;
  first?: string;
  latest?: string;
}

/** An (account, period)'s sums while they are added up: an attempt's for its journal, a fold run's. */
export interface SummedGroup<C> {
  readonly accountId: string;
  readonly period: PeriodId;
  end?: number;
  /** Late checks: period → whether one of its events carries state into later periods. */
  readonly checks: Map<PeriodId, boolean>;
  counted: number;
  uncharged?: number;
  readonly counters: Map<string, C>;
  readonly raw: LedgerEvent[];
}

/** A run's effect on one (account, period): what the fold writes for it. */
export type FoldedGroup = SummedGroup<FoldedCounter>;

/** The group of an (account, period) among `groups`, added empty the first time. */
export function summedGroup<C>(
  groups: Map<string, SummedGroup<C>>,
  accountId: string,
  period: PeriodId,
): SummedGroup<C> {
  const k = compositeKey(accountId, period);
  let g = groups.get(k);
  if (!g) {
    g = { accountId, period, checks: new Map(), counted: 0, counters: new Map(), raw: [] };
    groups.set(k, g);
  }
  return g;
}

/** A late check added to a group's: a period carries state forward if any of its events does. */
export const addCheck = (checks: Map<PeriodId, boolean>, period: PeriodId, later: boolean) =>
  checks.set(period, later || checks.get(period) === true);

/**
 * Sums journals (in attempt order) per (account, period) and counter: quantities and event counts
 * added, the newest time kept, the first sample of the earliest attempt and the latest of the last.
 * Raw events are kept in attempt order. Pure: a redo of a run computes the same writes.
 */
export function foldJournals(journals: readonly Journal[]): FoldedGroup[] {
  const groups = new Map<string, FoldedGroup>();
  const ordered = [...journals].sort((a, b) => compareStrings(a.attempt, b.attempt));
  for (const j of ordered)
    for (const g of j.groups) {
      const f = summedGroup(groups, g.accountId, g.period);
      if (g.end !== undefined) f.end = Math.max(f.end ?? g.end, g.end);
      for (const [p, later] of g.checks) addCheck(f.checks, p, later);
      f.counted += g.counted;
      if (g.uncharged !== undefined) f.uncharged = Math.max(f.uncharged ?? g.uncharged, g.uncharged);
      for (const c of g.counters) {
        const cur = f.counters.get(c.key);
        if (!cur)
          f.counters.set(c.key, {
            key: c.key,
            quantity: dec(c.quantity),
            events: c.events,
            newest: c.newest,
            ...(c.first !== undefined ? { first: c.first } : {}),
            ...(c.latest !== undefined ? { latest: c.latest } : {}),
          });
        else {
          cur.quantity = cur.quantity.plus(dec(c.quantity));
          cur.events += c.events;
          cur.newest = Math.max(cur.newest, c.newest);
          if (cur.first === undefined && c.first !== undefined) cur.first = c.first;
          if (c.latest !== undefined) cur.latest = c.latest;
        }
      }
      for (const e of g.raw) f.raw.push(e);
    }
  return [...groups.values()];
}

/** The fold state of one shard: the last run and what is settled. */
export interface FoldState {
  /** The last run started (0: none). */
  readonly run: number;
  /** Its writes all landed (and its late checks were made). */
  readonly done: boolean;
  /** Every journal of an attempt started at or before this instant is folded or aborted. */
  readonly settled: number;
  /** Attempts started after `settled` already folded (a close, a preview folds up to now). */
  readonly extra: readonly string[];
  /** The attempts of the last run (needed to redo it after a crash). */
  readonly attempts: readonly string[];
  /** The last run's instant: its pages' storage time (the same keys on a redo). */
  readonly at: number;
}

export type CommitState = "committed" | "aborted" | "none";

/**
 * What one run takes at most. `parts`: the journal parts it loads, its memory bound — a part is
 * ≤ 300 KB of JSON (usually a few KB: a 1,000-message attempt's share of one shard is ≈ 8 KB
 * deflated), so a run holds at most ≈ 150 MB of journal JSON in a 1,024 MB function, whatever the
 * backlog; what is left is folded by the next run (the same call loops). At the design peak (10,000
 * events/s, 1,000-message invocations: ≈ 10 parts a second per shard) a run covers ≈ 50 s of a
 * shard's traffic. `attempts` and `earlyAttempts`: what the state item lists (< 400 KB).
 */
export const RUN_BOUNDS = { parts: 500, attempts: 2_000, earlyAttempts: 2_000 } as const;

/**
 * When the scheduled fold folds a shard (the close and the Marketplace reporter always fold their
 * shard, whatever this says: correctness never depends on the cadence). The schedule ticks every
 * minute; a tick folds a shard whose last run is `maxLagMs` old, or whose journals since that run
 * hold `volumeEvents` events or fill the probe (`probeParts` parts). Fewer, larger runs write each
 * active (account, period)'s bundle and page once per run instead of once a minute.
 */
export interface FoldCadence {
  readonly maxLagMs: number;
  readonly volumeEvents: number;
  readonly probeParts: number;
}

/**
 * The deployed cadence: five minutes (what a preview or the finance API's month-to-date usage may
 * lag, plus a minute's tick); a shard taking ≥ 100,000 events (≈ 1,300 events/s on the shard over
 * five minutes: busier than the realistic base's 1,000 events/s over all four) is folded at the
 * next tick, so a run stays a fraction of its bounds at the design peak.
 */
export const DEFAULT_FOLD_CADENCE: FoldCadence = {
  maxLagMs: 5 * 60_000,
  volumeEvents: 100_000,
  probeParts: RUN_BOUNDS.parts,
};

/** What the volume probe saw: journal parts started after the shard's last run, and their events. */
export interface PendingProbe {
  readonly parts: number;
  readonly events: number;
}

/**
 * Why a scheduled tick folds the shard now, or undefined to leave it for a later tick. Without a
 * state (never folded) or with its last run unfinished (a crash to repair) it always folds; the
 * lag is measured from the last run's instant, which bounds the age of what it left (a journal
 * committed after that run started waits at most the lag and one tick).
 */
export function cadenceDue(
  state: FoldState | undefined,
  now: number,
  cadence: FoldCadence,
  probe?: PendingProbe,
): "first" | "redo" | "lag" | "volume" | undefined {
  if (!state || state.run === 0) return "first";
  if (!state.done) return "redo";
  if (now - state.at >= cadence.maxLagMs) return "lag";
  if (probe && (probe.events >= cadence.volumeEvents || probe.parts >= cadence.probeParts)) return "volume";
  return undefined;
}

export interface RunPlan {
  /** Committed attempts the run folds, in key order. */
  readonly attempts: string[];
  readonly settled: number;
  readonly extra: string[];
  /** Whether anything changes (a run to start). */
  readonly changes: boolean;
  /** The run stopped at its attempts bound: committed attempts are left for the next run. */
  readonly capped: boolean;
}

/**
 * Which listed attempts a run folds. Every attempt started at or before `now − cutoff` has
 * committed or is dead (its invocation outlived no timeout; the caller aborted it first, so its
 * state is final): those up to there are settled. Younger committed attempts are folded early and
 * remembered (`extra`) until the settled bound passes them; a younger one not committed yet is left
 * for a later run, whatever happens to it then. `states` holds every listed attempt's final or
 * current state (after the aborts). `listedUpTo`: the listing was cut at its parts bound and holds
 * every attempt started up to this instant only; the settled bound never passes it, so the next
 * run lists on from there.
 */
export function planRun(
  state: FoldState,
  listed: readonly string[],
  states: ReadonlyMap<string, CommitState>,
  now: number,
  cutoffMs: number,
  listedUpTo = Number.POSITIVE_INFINITY,
  maxAttempts: number = RUN_BOUNDS.attempts,
): RunPlan {
  const done = new Set(state.extra);
  let settled = Math.max(state.settled, Math.min(now - cutoffMs, listedUpTo));
  let capped = false;
  const candidates = [...new Set(listed)]
    .filter((a) => attemptStart(a) > state.settled && !done.has(a))
    .sort(compareStrings);
  const attempts: string[] = [];
  for (const a of candidates) {
    const s = states.get(a) ?? "none";
    if (s !== "committed") {
      // Not committed and not settled: left for later. Settled and none cannot happen (aborted first).
      if (s === "none" && attemptStart(a) <= settled) settled = Math.min(settled, attemptStart(a) - 1);
      continue;
    }
    if (attempts.length >= maxAttempts) {
      // The run is full: the bound stops before this one so that the next run takes it.
      settled = Math.min(settled, attemptStart(a) - 1);
      capped = true;
      break;
    }
    attempts.push(a);
  }
  settled = Math.max(settled, state.settled);
  // Early attempts beyond the bound are remembered; past `RUN_BOUNDS.earlyAttempts` they wait to settle.
  const early = [...done, ...attempts].filter((a) => attemptStart(a) > settled);
  let kept = attempts;
  if (early.length > RUN_BOUNDS.earlyAttempts) {
    const room = RUN_BOUNDS.earlyAttempts - [...done].filter((a) => attemptStart(a) > settled).length;
    let left = Math.max(0, room);
    kept = attempts.filter((a) => attemptStart(a) <= settled || left-- > 0);
  }
  const extra = [...done, ...kept].filter((a) => attemptStart(a) > settled).sort();
  return {
    attempts: kept,
    settled,
    extra,
    changes: kept.length > 0 || settled !== state.settled || extra.length !== state.extra.length,
    capped: capped || kept.length < attempts.length,
  };
}

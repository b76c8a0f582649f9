/**
 * Every minute (EventBridge Scheduler) → usage fold (docs/data-model.md, "Journal and fold"): folds
 * the committed journals of every fold shard that is due — its last run FOLD_MAX_LAG_SECONDS old,
 * or its journals since then holding FOLD_VOLUME_EVENTS events — into the monthly counters, pages
 * and usage markers, once each, then marks late the closed periods they reach
 * (shared/app/fold-usage.ts). Idempotent: a run that crashes is redone by the next tick, whatever
 * the cadence (or by a close that folds its account's shard first).
 */
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { type FoldDeps, type FoldOptions, type FoldResult, foldAll } from "../../shared/app/fold-usage.js";
import { DEFAULT_FOLD_CADENCE, type FoldCadence } from "../../shared/core/usage-fold.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { usageFoldEnvironmentSchema } from "../../shared/runtime/environment.js";
import { type AwsClients, lambdaEntry } from "../../shared/runtime/lambda-entry.js";
import { createMetrics } from "../../shared/runtime/observability.js";
import { cachedConfig, storeDeps } from "../../shared/runtime/wiring.js";

/** The fold's metrics: attempts folded per run and the (account, period)s it marked late. */
export const USAGE_FOLD_ATTEMPTS_METRIC = "UsageFoldAttempts";
export const USAGE_FOLD_LATE_METRIC = "UsageFoldLatePeriods";

/**
 * Runs one tick may start per shard: a run loads at most `RUN_BOUNDS.parts` journal parts, so six cover
 * 3,000 parts a minute (five times a shard's minute at the design peak); a backlog past that goes
 * on at the next tick, the shard then due by volume.
 */
export const RUNS_PER_TICK = 6;

export function createUsageFoldHandler(
  deps: FoldDeps,
  opts: { cadence?: FoldCadence; onRun?: (r: FoldResult[]) => void } = {},
) {
  const fold: FoldOptions = { cadence: opts.cadence ?? DEFAULT_FOLD_CADENCE, maxRuns: RUNS_PER_TICK };
  return async (_input?: unknown) => {
    const results = await foldAll(deps, 4, fold);
    opts.onRun?.(results);
    return results.map((r) => ({
      shard: r.shard,
      runs: r.runs,
      redone: r.redone,
      attempts: r.attempts,
      late: r.late.size,
      skipped: r.skipped,
      more: r.more,
    }));
  };
}

/** The cadence the environment sets (the stack's defaults: five minutes, 100,000 events). */
export function foldCadenceOf(env: {
  FOLD_MAX_LAG_SECONDS: number;
  FOLD_VOLUME_EVENTS: number;
}): FoldCadence {
  return {
    ...DEFAULT_FOLD_CADENCE,
    maxLagMs: env.FOLD_MAX_LAG_SECONDS * 1000,
    volumeEvents: env.FOLD_VOLUME_EVENTS,
  };
}

/** The Lambda's wiring (also run by the grants test against DynamoDB Local). */
export function usageFoldDeps(
  env: { BILLING_TABLE: string; INGEST_TIMEOUT_SECONDS: number; CONFIG_CACHE_SECONDS: number },
  clients: Pick<AwsClients, "dynamo">,
  clock: Clock = systemClock,
): FoldDeps {
  const store = new DynamoBillingStore(clients.dynamo, env.BILLING_TABLE, {
    ingestTimeoutMs: env.INGEST_TIMEOUT_SECONDS * 1000,
  });
  const configCacheMs = env.CONFIG_CACHE_SECONDS * 1000;
  const deps = storeDeps(store, clock, cachedConfig(store, clock, configCacheMs), { configCacheMs });
  return {
    journal: store.usage.journal,
    periods: store,
    clock,
    accounts: deps.accounts,
    unclosed: store.unclosed,
  };
}

export const handler = lambdaEntry(usageFoldEnvironmentSchema, (env, clients) => {
  const metrics = createMetrics();
  return createUsageFoldHandler(usageFoldDeps(env, clients), {
    cadence: foldCadenceOf(env),
    onRun: (results) => {
      metrics.addMetric(
        USAGE_FOLD_ATTEMPTS_METRIC,
        "Count",
        results.reduce((n, r) => n + r.attempts, 0),
      );
      metrics.addMetric(
        USAGE_FOLD_LATE_METRIC,
        "Count",
        results.reduce((n, r) => n + r.late.size, 0),
      );
      metrics.publishStoredMetrics();
    },
  });
});

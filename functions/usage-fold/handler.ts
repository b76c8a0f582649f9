/**
 * Every minute (EventBridge Scheduler) → usage fold (docs/data-model.md, "Journal and fold"): folds
 * every fold shard's committed journals into the monthly counters, pages and usage markers, once
 * each, then marks late the closed periods they reach (shared/app/fold-usage.ts). Idempotent: a
 * run that crashes is redone by the next (or by a close that folds its account's shard first).
 */
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { type FoldDeps, type FoldResult, foldAll } from "../../shared/app/fold-usage.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { usageFoldEnvironmentSchema } from "../../shared/runtime/environment.js";
import { type AwsClients, lambdaEntry } from "../../shared/runtime/lambda-entry.js";
import { createMetrics } from "../../shared/runtime/observability.js";
import { cachedConfig, storeDeps } from "../../shared/runtime/wiring.js";

/** The fold's metrics: attempts folded per run and the (account, period)s it marked late. */
export const USAGE_FOLD_ATTEMPTS_METRIC = "UsageFoldAttempts";
export const USAGE_FOLD_LATE_METRIC = "UsageFoldLatePeriods";

export function createUsageFoldHandler(deps: FoldDeps, opts: { onRun?: (r: FoldResult[]) => void } = {}) {
  return async (_input?: unknown) => {
    const results = await foldAll(deps);
    opts.onRun?.(results);
    return results.map((r) => ({
      shard: r.shard,
      runs: r.runs,
      redone: r.redone,
      attempts: r.attempts,
      late: r.late.size,
    }));
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

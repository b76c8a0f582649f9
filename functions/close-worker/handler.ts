/**
 * SQS close queue → close worker: each message `{ "accountId", "period" }` closes one
 * account's period (shared/app/close-period.ts `closeAccount`, atomic per account-period). The records
 * of a batch are closed concurrently. A message is acknowledged once its account-period is closed (by
 * this run or an earlier one) or names an account with no configuration at all (then kept in suspense
 * in the unclosed-usage index and alarmed, CloseRequestsSuspended); it is returned to the queue
 * (a batch item failure) when another run holds a claim on it — if that run crashed, a later receive
 * takes the claim over after its lease — or on an error; the queue's redrive moves a message that
 * keeps failing to the close DLQ, which is alarmed.
 */
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { z } from "zod";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { budgetedUsage, CloseMemoryBudget } from "../../shared/app/close-budget.js";
import { type CloseDeps, closeAccount, UnknownAccountError } from "../../shared/app/close-period.js";
import type { AccountCloseOutcome } from "../../shared/core/close-report.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { closeWorkerEnvironmentSchema } from "../../shared/runtime/environment.js";
import { type AwsClients, lambdaEntry, logger } from "../../shared/runtime/lambda-entry.js";
import { createMetrics, publishCloseRun } from "../../shared/runtime/observability.js";
import { processSqsRecords } from "../../shared/runtime/sqs-batch.js";
import { cachedConfig, exportObjects, storeDeps } from "../../shared/runtime/wiring.js";

export const closeRequestSchema = z.object({
  accountId: z.string().min(1),
  period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
});

export interface CloseWorkerOptions {
  /**
   * The memory the batch's closes may hold together (close-budget.ts): accounts are closed side by
   * side only while their raw events fit in it; a big account closes alone. Without it, every
   * record of a batch is closed at once whatever its size.
   */
  readonly budget?: CloseMemoryBudget;
  /** Sees each outcome (the local stack collects the reports of `billing simulate`). */
  readonly onOutcome?: (outcome: AccountCloseOutcome) => void;
  /** Each batch's duration and outcomes (the Lambda handler publishes them as metrics). */
  readonly onBatch?: (run: { durationMs: number; reports: AccountCloseOutcome[]; suspended: number }) => void;
}

/** A close request that can never be valid: fails on every receive until the close DLQ takes it. */
class MalformedCloseRequestError extends Error {
  override readonly name = "MalformedCloseRequestError";
}

/**
 * Closes each record's account-period concurrently (Powertools' batch processor, through
 * shared/runtime/sqs-batch.ts): a request held by another run is returned to the queue without
 * counting as a failure; when every record of a batch failed the handler throws, so the function's
 * Errors alarm sees it.
 */
export function createCloseWorkerHandler(deps: CloseDeps, opts: CloseWorkerOptions = {}) {
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const started = performance.now();
    const outcomes: AccountCloseOutcome[] = [];
    let suspended = 0;
    try {
      return await processSqsRecords(
        event.Records,
        async (record) => {
          let request: z.infer<typeof closeRequestSchema>;
          try {
            request = closeRequestSchema.parse(JSON.parse(record.body));
          } catch (e) {
            throw new MalformedCloseRequestError(String(e), { cause: e });
          }
          const lease = opts.budget?.lease();
          try {
            await lease?.start();
            const outcome = await closeAccount(
              request.accountId,
              request.period,
              lease ? { ...deps, usage: budgetedUsage(deps.usage, lease) } : deps,
            );
            opts.onOutcome?.(outcome);
            outcomes.push(outcome);
            if (outcome.status !== "being-closed") return "done";
            logger.info("account-period held by another run; retried later", { ...outcome });
            return "retry";
          } catch (e) {
            if (!(e instanceof UnknownAccountError)) throw e;
            // Never dropped: kept in suspense (listed, counted overdue, requested again hourly) and alarmed.
            if (!deps.unclosed) throw e;
            await deps.unclosed.suspendClose(request.accountId, request.period, e.message, deps.clock.now());
            suspended += 1;
            logger.error("close request for an account with no configuration; suspended", {
              ...request,
              error: e.message,
            });
            return "done";
          } finally {
            lease?.release();
          }
        },
        (record, e) =>
          e instanceof MalformedCloseRequestError
            ? logger.error("malformed close request", { messageId: record.messageId, error: e.message })
            : logger.error("close failed; returned to the queue", {
                messageId: record.messageId,
                error: e as Error,
              }),
        context,
      );
    } finally {
      opts.onBatch?.({ durationMs: performance.now() - started, reports: outcomes, suspended });
    }
  };
}

/** The Lambda's wiring (also run by the grants test against DynamoDB Local). */
export function closeWorkerDeps(
  env: { BILLING_TABLE: string; CONFIG_CACHE_SECONDS: number; EXPORTS_BUCKET?: string | undefined },
  clients: Pick<AwsClients, "dynamo" | "endpoints" | "trace">,
  clock: Clock = systemClock,
): CloseDeps {
  // Deployed ingest leaves its journals to the fold: this function folds its accounts' shard first.
  const store = new DynamoBillingStore(clients.dynamo, env.BILLING_TABLE, { foldInline: false });
  // Each close reads its account and tariff afresh (two items): a tariff corrected just before
  // the close applies to it. The whole configuration is never loaded by the worker.
  const config = cachedConfig(store, clock, env.CONFIG_CACHE_SECONDS * 1000);
  // Each close is followed by its objects in the exports bucket by period.
  return storeDeps(store, clock, config, {
    configCacheMs: 0,
    exports: exportObjects(clients.endpoints, env.EXPORTS_BUCKET, clients.trace),
  });
}

export const handler = lambdaEntry(closeWorkerEnvironmentSchema, (env, clients) => {
  const metrics = createMetrics();
  // One budget for the container: Lambda runs one batch at a time in it.
  const budget =
    env.CLOSE_MEMORY_BUDGET_MB !== undefined
      ? new CloseMemoryBudget(env.CLOSE_MEMORY_BUDGET_MB * 2 ** 20)
      : CloseMemoryBudget.forFunctionMemory(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return createCloseWorkerHandler(closeWorkerDeps(env, clients), {
    onBatch: (run) => publishCloseRun(metrics, run),
    budget,
  });
});

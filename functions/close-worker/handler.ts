/**
 * SQS close queue → close worker (decisions D15): each message `{ "accountId", "period" }` closes one
 * account's period (shared/app/close-period.ts `closeAccount`, atomic per account-period). The records
 * of a batch are closed concurrently. A message is acknowledged once its account-period is closed (by
 * this run or an earlier one) or names an account no longer configured; it is returned to the queue
 * (a batch item failure) when another run holds a claim on it — if that run crashed, a later receive
 * takes the claim over after its lease — or on an error; the queue's redrive moves a message that
 * keeps failing to the close DLQ, which is alarmed.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { z } from "zod";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import {
  type AccountCloseOutcome,
  type CloseDeps,
  closeAccount,
  UnknownAccountError,
} from "../../shared/app/close-period.js";
import { systemClock } from "../../shared/ports/clock.js";
import { readEnvironment } from "../../shared/runtime/environment.js";
import { createMetrics, publishCloseRun, SERVICE_NAME } from "../../shared/runtime/observability.js";
import { cachedConfig, dynamoClient, exportObjects, storeDeps } from "../../shared/runtime/wiring.js";

export const closeRequestSchema = z.object({
  accountId: z.string().min(1),
  period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
});

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME });

export interface CloseWorkerOptions {
  /** Sees each outcome (the local stack collects the reports of `billing simulate`). */
  readonly onOutcome?: (outcome: AccountCloseOutcome) => void;
  /** Each batch's duration and outcomes (the Lambda handler publishes them as metrics, D22). */
  readonly onBatch?: (run: { durationMs: number; reports: AccountCloseOutcome[] }) => void;
}

export function createCloseWorkerHandler(deps: CloseDeps, opts: CloseWorkerOptions = {}) {
  return async (event: SQSEvent, _context?: Context): Promise<SQSBatchResponse> => {
    const started = performance.now();
    const outcomes: AccountCloseOutcome[] = [];
    const failures = await Promise.all(
      event.Records.map(async (record): Promise<string | undefined> => {
        let request: z.infer<typeof closeRequestSchema>;
        try {
          request = closeRequestSchema.parse(JSON.parse(record.body));
        } catch (e) {
          // Never valid: fails on every receive until the redrive moves it to the close DLQ.
          logger.error("malformed close request", { messageId: record.messageId, error: String(e) });
          return record.messageId;
        }
        try {
          const outcome = await closeAccount(request.accountId, request.period, deps);
          opts.onOutcome?.(outcome);
          outcomes.push(outcome);
          if (outcome.status === "being-closed") {
            logger.info("account-period held by another run; retried later", { ...outcome });
            return record.messageId;
          }
          return undefined;
        } catch (e) {
          if (e instanceof UnknownAccountError) {
            logger.warn("close request for an account not configured; dropped", {
              ...request,
              error: e.message,
            });
            return undefined;
          }
          logger.error("close failed; returned to the queue", { ...request, error: e as Error });
          return record.messageId;
        }
      }),
    );
    opts.onBatch?.({ durationMs: performance.now() - started, reports: outcomes });
    return {
      batchItemFailures: failures
        .filter((id): id is string => id !== undefined)
        .map((itemIdentifier) => ({ itemIdentifier })),
    };
  };
}

let lambdaHandler: ((event: SQSEvent, context: Context) => Promise<SQSBatchResponse>) | undefined;
export const handler = (event: SQSEvent, context: Context) => {
  if (!lambdaHandler) {
    const env = readEnvironment();
    const endpoints = {
      region: env.AWS_REGION,
      dynamodbEndpoint: env.DYNAMODB_ENDPOINT,
      s3Endpoint: env.S3_ENDPOINT,
    };
    const store = new DynamoBillingStore(dynamoClient(endpoints), env.BILLING_TABLE);
    // Each close reads its account and tariff afresh (two items): a tariff corrected just before
    // the close applies to it. The whole configuration is never loaded by the worker.
    const config = cachedConfig(store, systemClock, env.CONFIG_CACHE_SECONDS * 1000);
    const metrics = createMetrics();
    lambdaHandler = middy(
      // Each close is followed by its objects in the exports bucket by period (D25).
      createCloseWorkerHandler(
        storeDeps(store, systemClock, config, {
          configCacheMs: 0,
          exports: exportObjects(endpoints, env.EXPORTS_BUCKET),
        }),
        {
          onBatch: (run) => publishCloseRun(metrics, run),
        },
      ),
    );
  }
  return lambdaHandler(event, context);
};

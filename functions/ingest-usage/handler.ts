/**
 * SQS → ingest: validates each usage event (a message body holds one event or a CloudEvents JSON
 * batch) and stores the whole invocation's batch at once (shared/app/ingest-usage.ts). Bad events
 * go to the dead-letter store with their reason and are acknowledged; only messages that could not
 * be stored now (a failure of ours, or an event another running invocation holds) are reported as
 * batch item failures, so SQS retries just those and its redrive moves them to the DLQ after N receives.
 * Each failure of ours is an ERROR log line and counts in the EMF metric the ingest-errors alarm
 * watches; when every record of a batch fails the handler throws, so Lambda's Errors metric sees it.
 */

import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { causeOf } from "../../shared/adapters/aws-errors.js";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { type IngestDeps, type IngestOutcome, ingestBatch } from "../../shared/app/ingest-usage.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { ingestEnvironmentSchema } from "../../shared/runtime/environment.js";
import { type AwsClients, lambdaEntry, logger } from "../../shared/runtime/lambda-entry.js";
import {
  createMetrics,
  INGEST_UNEXPECTED_ERRORS_METRIC,
  type IngestBatchCounts,
  publishIngestBatch,
} from "../../shared/runtime/observability.js";
import { partialBatchResponse, SqsBatchFailedError } from "../../shared/runtime/sqs-batch.js";
import { blobStore, cachedConfig, storeDeps } from "../../shared/runtime/wiring.js";

export interface IngestBatchResult extends SQSBatchResponse {
  /** Events per outcome; `failed` counts the messages returned to the queue. */
  readonly outcomes: Record<IngestOutcome["kind"] | "failed", number>;
}

/** Every record of a batch failed unexpectedly (e.g. storage down): thrown so Lambda counts an error. */
export class IngestBatchFailedError extends SqsBatchFailedError {
  override readonly name = "IngestBatchFailedError";
  constructor(
    readonly outcomes: IngestBatchResult["outcomes"],
    options?: { cause?: unknown },
  ) {
    super(outcomes.failed, options);
  }
}

/** CloudWatch EMF on stdout; the infra alarm watches INGEST_UNEXPECTED_ERRORS_METRIC (observability.ts). */
export const metrics = createMetrics();

/**
 * `onBatch`: receives each batch's outcome counts (and its late events) before the handler returns
 * or throws; the Lambda handler publishes them as metrics (the local stack and the CLI do not).
 */
export function createIngestHandler(
  deps: IngestDeps,
  opts: { onBatch?: (counts: IngestBatchCounts) => void } = {},
) {
  return async (event: SQSEvent, _context?: Context): Promise<IngestBatchResult> => {
    const outcomes: IngestBatchResult["outcomes"] = {
      stored: 0,
      duplicate: 0,
      conflict: 0,
      "dead-lettered": 0,
      failed: 0,
    };
    const r = await ingestBatch(
      event.Records.map((m) => ({ messageId: m.messageId, body: m.body })),
      deps,
    );
    for (const o of r.outcomes) outcomes[o.kind] += 1;
    outcomes.failed = r.retry.length;
    // Not bad messages (those are dead-lettered with their reason): failures of ours or the
    // platform's (throttling, AccessDenied, KMS, timeouts, bugs). SQS retries those messages; the
    // metric below pages someone, the log line says why (`cause`).
    for (const f of r.failures)
      logger.error("ingest failed (our fault); the message returns to the queue", {
        messageId: f.messageId,
        fault: "ours",
        cause: causeOf(f.error),
        error: f.error as Error,
      });
    // A message retried only because a running invocation holds its event is no error (usage-store.ts).
    const errors = r.failures.length;
    if (errors > 0) {
      metrics.addMetric(INGEST_UNEXPECTED_ERRORS_METRIC, MetricUnit.Count, errors);
      metrics.publishStoredMetrics();
    }
    opts.onBatch?.({
      ...outcomes,
      late: r.outcomes.filter((o) => o.kind === "stored" && o.late).length,
    });
    const response = partialBatchResponse(
      event.Records,
      r.retry,
      errors,
      () => new IngestBatchFailedError(outcomes, { cause: r.failures[0]?.error }),
    );
    return { ...response, outcomes };
  };
}

/** The local event-source poller's wrapping: log lines carry the Lambda context, as in Lambda. */
export const wrapIngestHandler = (h: ReturnType<typeof createIngestHandler>) =>
  middy(h).use(injectLambdaContext(logger));

/** The Lambda's wiring (also run by the grants test against DynamoDB Local). */
export function ingestDeps(
  env: {
    BILLING_TABLE: string;
    INGEST_TIMEOUT_SECONDS: number;
    CONFIG_CACHE_SECONDS: number;
    EXPORTS_BUCKET?: string | undefined;
  },
  clients: Pick<AwsClients, "dynamo" | "endpoints" | "trace">,
  clock: Clock = systemClock,
): IngestDeps {
  const store = new DynamoBillingStore(clients.dynamo, env.BILLING_TABLE, {
    ingestTimeoutMs: env.INGEST_TIMEOUT_SECONDS * 1000,
    // The scheduled fold applies the journals (functions/usage-fold): ingest writes no per-account item.
    foldInline: false,
  });
  const configCacheMs = env.CONFIG_CACHE_SECONDS * 1000;
  const config = cachedConfig(store, clock, configCacheMs);
  const blobs = blobStore(clients.endpoints, env.EXPORTS_BUCKET, clients.trace);
  return storeDeps(store, clock, config, { configCacheMs, blobs });
}

export const handler = lambdaEntry(ingestEnvironmentSchema, (env, clients) =>
  createIngestHandler(ingestDeps(env, clients), {
    onBatch: (counts) => publishIngestBatch(metrics, counts),
  }),
);

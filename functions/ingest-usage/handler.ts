/**
 * SQS → ingest: validates each usage event (a message body holds one event or a CloudEvents JSON
 * batch) and stores the whole invocation's batch at once (shared/app/ingest-usage.ts). Bad events
 * go to the dead-letter store with their reason and are acknowledged; only messages that could not
 * be stored now (a transient error, or an event another running invocation holds) are reported as
 * batch item failures, so SQS retries just those and its redrive moves them to the DLQ after N receives.
 * Each unexpected error is an ERROR log line and counts in the EMF metric the ingest-errors alarm
 * watches; when every record of a batch fails the handler throws, so Lambda's Errors metric sees it.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { type IngestDeps, type IngestOutcome, ingestBatch } from "../../shared/app/ingest-usage.js";
import { systemClock } from "../../shared/ports/clock.js";
import { readEnvironment } from "../../shared/runtime/environment.js";
import {
  INGEST_UNEXPECTED_ERRORS_METRIC,
  type IngestBatchCounts,
  METRICS_NAMESPACE,
  publishIngestBatch,
  SERVICE_NAME,
} from "../../shared/runtime/observability.js";
import { blobStore, cachedConfig, dynamoClient, storeDeps } from "../../shared/runtime/wiring.js";

export interface IngestBatchResult extends SQSBatchResponse {
  /** Events per outcome; `failed` counts the messages returned to the queue. */
  readonly outcomes: Record<IngestOutcome["kind"] | "failed", number>;
}

/** Every record of a batch failed unexpectedly (e.g. storage down): thrown so Lambda counts an error. */
export class IngestBatchFailedError extends Error {
  constructor(readonly outcomes: IngestBatchResult["outcomes"]) {
    super(`all ${outcomes.failed} records of the batch failed unexpectedly; the batch returns to the queue`);
    this.name = "IngestBatchFailedError";
  }
}

/** JSON log lines; LOG_LEVEL and POWERTOOLS_SERVICE_NAME (set by infra) are read from the environment. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME });
/** CloudWatch EMF on stdout; the infra alarm watches INGEST_UNEXPECTED_ERRORS_METRIC (observability.ts). */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

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
    // Not bad messages (those are dead-lettered with their reason): transient errors, e.g. throttling
    // or storage down. SQS retries those messages; operators see the log and the alarm.
    for (const f of r.failures)
      logger.error("ingest failed unexpectedly; the message returns to the queue", {
        messageId: f.messageId,
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
    if (event.Records.length > 0 && errors === event.Records.length)
      throw new IngestBatchFailedError(outcomes);
    return { batchItemFailures: r.retry.map((itemIdentifier) => ({ itemIdentifier })), outcomes };
  };
}

/** Same wrapping for Lambda and the local event-source poller (log lines carry the Lambda context). */
export const wrapIngestHandler = (h: ReturnType<typeof createIngestHandler>) =>
  middy(h).use(injectLambdaContext(logger));

let lambdaHandler: ReturnType<typeof wrapIngestHandler> | undefined;
export const handler = (event: SQSEvent, context: Context) => {
  if (!lambdaHandler) {
    const env = readEnvironment();
    const endpoints = {
      region: env.AWS_REGION,
      dynamodbEndpoint: env.DYNAMODB_ENDPOINT,
      s3Endpoint: env.S3_ENDPOINT,
    };
    const store = new DynamoBillingStore(dynamoClient(endpoints), env.BILLING_TABLE, {
      attemptCutoffMs: env.ATTEMPT_CUTOFF_SECONDS * 1000,
    });
    const configCacheMs = env.CONFIG_CACHE_SECONDS * 1000;
    const config = cachedConfig(store, systemClock, configCacheMs);
    const blobs = blobStore(endpoints, env.EXPORTS_BUCKET);
    lambdaHandler = wrapIngestHandler(
      createIngestHandler(storeDeps(store, systemClock, config, { configCacheMs, blobs }), {
        onBatch: (counts) => publishIngestBatch(metrics, counts),
      }),
    );
  }
  return lambdaHandler(event, context);
};

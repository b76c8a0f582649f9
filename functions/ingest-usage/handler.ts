/**
 * SQS → ingest: validates each usage event (a message body holds one event or a CloudEvents JSON
 * batch) and stores the whole invocation's batch at once (shared/app/ingest-usage.ts). Bad events
 * go to the dead-letter store with their reason and are acknowledged; only messages that could not
 * be stored now (a transient error, or an event another running invocation holds) are reported as
 * batch item failures, so SQS retries just those and its redrive moves them to the DLQ after N receives.
 */
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { type IngestDeps, type IngestOutcome, ingestBatch } from "../../shared/app/ingest-usage.js";
import { systemClock } from "../../shared/ports/clock.js";
import { readEnvironment } from "../../shared/runtime/environment.js";
import { cachedConfig, dynamoClient, storeDeps } from "../../shared/runtime/wiring.js";

export interface IngestBatchResult extends SQSBatchResponse {
  /** Events per outcome; `failed` counts the messages returned to the queue. */
  readonly outcomes: Record<IngestOutcome["kind"] | "failed", number>;
}

export function createIngestHandler(deps: IngestDeps) {
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
    return { batchItemFailures: r.retry.map((itemIdentifier) => ({ itemIdentifier })), outcomes };
  };
}

/** Same wrapping for Lambda and the local event-source poller. */
export const wrapIngestHandler = (h: ReturnType<typeof createIngestHandler>) => middy(h);

let lambdaHandler: ReturnType<typeof wrapIngestHandler> | undefined;
export const handler = (event: SQSEvent, context: Context) => {
  if (!lambdaHandler) {
    const env = readEnvironment();
    const store = new DynamoBillingStore(
      dynamoClient({ region: env.AWS_REGION, dynamodbEndpoint: env.DYNAMODB_ENDPOINT }),
      env.BILLING_TABLE,
      { attemptCutoffMs: env.ATTEMPT_CUTOFF_SECONDS * 1000 },
    );
    const configCacheMs = env.CONFIG_CACHE_SECONDS * 1000;
    const config = cachedConfig(store, systemClock, configCacheMs);
    lambdaHandler = wrapIngestHandler(
      createIngestHandler(storeDeps(store, systemClock, config, { configCacheMs })),
    );
  }
  return lambdaHandler(event, context);
};

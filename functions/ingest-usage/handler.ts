/**
 * SQS → ingest: validates and stores each usage message once. Bad messages go to the dead-letter
 * store with their reason and are acknowledged; only transient errors (throttling, 5xx, network) are
 * reported as batch item failures, so SQS retries just those and its redrive moves them to the DLQ
 * after N receives.
 */
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { type IngestDeps, type IngestOutcome, ingestUsageMessage } from "../../shared/app/ingest-usage.js";
import { systemClock } from "../../shared/ports/clock.js";
import { readEnvironment } from "../../shared/runtime/environment.js";
import { blobStore, cachedConfig, dynamoClient, storeDeps } from "../../shared/runtime/wiring.js";

export interface IngestBatchResult extends SQSBatchResponse {
  readonly outcomes: Record<IngestOutcome["kind"] | "failed", number>;
}

const CONCURRENCY = 8;

export function createIngestHandler(deps: IngestDeps) {
  return async (event: SQSEvent, _context?: Context): Promise<IngestBatchResult> => {
    const outcomes: IngestBatchResult["outcomes"] = {
      stored: 0,
      duplicate: 0,
      conflict: 0,
      "dead-lettered": 0,
      failed: 0,
    };
    const batchItemFailures: { itemIdentifier: string }[] = [];
    const records = [...event.Records];
    const worker = async () => {
      for (let r = records.shift(); r; r = records.shift()) {
        try {
          const outcome = await ingestUsageMessage(r.body, r.messageId, deps);
          outcomes[outcome.kind] += 1;
        } catch (e) {
          outcomes.failed += 1;
          batchItemFailures.push({ itemIdentifier: r.messageId });
          console.error(
            JSON.stringify({
              level: "ERROR",
              message: "ingest failed",
              messageId: r.messageId,
              error: String(e),
            }),
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return { batchItemFailures, outcomes };
  };
}

/** Same wrapping for Lambda and the local event-source poller. */
export const wrapIngestHandler = (h: ReturnType<typeof createIngestHandler>) => middy(h);

let lambdaHandler: ReturnType<typeof wrapIngestHandler> | undefined;
export const handler = (event: SQSEvent, context: Context) => {
  if (!lambdaHandler) {
    const env = readEnvironment();
    const endpoints = {
      region: env.AWS_REGION,
      dynamodbEndpoint: env.DYNAMODB_ENDPOINT,
      s3Endpoint: env.S3_ENDPOINT,
    };
    const store = new DynamoBillingStore(dynamoClient(endpoints), env.BILLING_TABLE);
    const config = cachedConfig(store, systemClock, env.CONFIG_CACHE_SECONDS * 1000);
    const blobs = blobStore(endpoints, env.EXPORTS_BUCKET);
    lambdaHandler = wrapIngestHandler(createIngestHandler(storeDeps(store, systemClock, config, blobs)));
  }
  return lambdaHandler(event, context);
};

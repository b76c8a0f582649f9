/**
 * Operator actions on what could not be rated: `{ "action": "list" }` or
 * `{ "action": "redrive", "ids"?: [...] }` (also moves the SQS DLQ back to the usage queue).
 */
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { SqsFailedMessageQueue } from "../../shared/adapters/sqs/failed-message-queue.js";
import { SqsUsageQueue } from "../../shared/adapters/sqs/usage-queue.js";
import {
  type FailedMessageQueue,
  listDeadLetters,
  redriveDeadLetters,
} from "../../shared/app/dead-letters.js";
import type { BlobStore } from "../../shared/ports/blob-store.js";
import type { DeadLetterStore, UsageQueue } from "../../shared/ports/storage.js";
import { ConfigurationError, readEnvironment } from "../../shared/runtime/environment.js";
import { blobStore, dynamoClient, sqsClient } from "../../shared/runtime/wiring.js";

const requestSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("list") }),
  z.object({ action: z.literal("redrive"), ids: z.array(z.string().min(1)).optional() }),
]);

export function createDeadLetterHandler(deps: {
  store: DeadLetterStore;
  queue: UsageQueue;
  dlq?: FailedMessageQueue;
  blobs?: BlobStore;
}) {
  return async (input: unknown) => {
    const req = requestSchema.parse(input);
    if (req.action === "list") return listDeadLetters(deps.store, deps.dlq);
    return redriveDeadLetters(deps.store, deps.queue, {
      ...(req.ids ? { ids: req.ids } : {}),
      ...(deps.dlq ? { dlq: deps.dlq } : {}),
      ...(deps.blobs ? { blobs: deps.blobs } : {}),
    });
  };
}

let lambdaHandler: ((input: unknown, context: Context) => Promise<unknown>) | undefined;
export const handler = (input: unknown, context: Context) => {
  if (!lambdaHandler) {
    const env = readEnvironment();
    if (!env.USAGE_QUEUE_URL)
      throw new ConfigurationError("USAGE_QUEUE_URL is required by the dead-letter function");
    const endpoints = {
      region: env.AWS_REGION,
      dynamodbEndpoint: env.DYNAMODB_ENDPOINT,
      sqsEndpoint: env.SQS_ENDPOINT,
      s3Endpoint: env.S3_ENDPOINT,
    };
    const sqs = sqsClient(endpoints);
    const store = new DynamoBillingStore(dynamoClient(endpoints), env.BILLING_TABLE);
    const queue = new SqsUsageQueue(sqs, env.USAGE_QUEUE_URL);
    const dlq = env.USAGE_DLQ_URL
      ? new SqsFailedMessageQueue(sqs, env.USAGE_DLQ_URL, env.USAGE_QUEUE_URL)
      : undefined;
    const blobs = blobStore(endpoints, env.EXPORTS_BUCKET);
    lambdaHandler = middy(
      createDeadLetterHandler({ store, queue, ...(dlq ? { dlq } : {}), ...(blobs ? { blobs } : {}) }),
    );
  }
  return lambdaHandler(input, context);
};

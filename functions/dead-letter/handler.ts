/**
 * Operator actions on what could not be rated: `{ "action": "list", "source"?: S }` or
 * `{ "action": "redrive", "ids"?: [...] }` (also moves the SQS DLQ back to the usage queue).
 */
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
import { deadLetterEnvironmentSchema } from "../../shared/runtime/environment.js";
import { type AwsClients, lambdaEntry } from "../../shared/runtime/lambda-entry.js";
import { blobStore } from "../../shared/runtime/wiring.js";

const requestSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("list"), source: z.string().min(1).optional() }),
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
    if (req.action === "list")
      return listDeadLetters(deps.store, deps.dlq, req.source !== undefined ? { source: req.source } : {});
    return redriveDeadLetters(deps.store, deps.queue, {
      ...(req.ids ? { ids: req.ids } : {}),
      ...(deps.dlq ? { dlq: deps.dlq } : {}),
      ...(deps.blobs ? { blobs: deps.blobs } : {}),
    });
  };
}

/** The Lambda's wiring (also run by the grants test against DynamoDB Local). */
export function deadLetterDeps(
  env: {
    BILLING_TABLE: string;
    USAGE_QUEUE_URL: string;
    USAGE_DLQ_URL?: string | undefined;
    EXPORTS_BUCKET?: string | undefined;
  },
  clients: Pick<AwsClients, "dynamo" | "sqs" | "endpoints" | "trace">,
): Parameters<typeof createDeadLetterHandler>[0] {
  const dlq = env.USAGE_DLQ_URL
    ? new SqsFailedMessageQueue(clients.sqs, env.USAGE_DLQ_URL, env.USAGE_QUEUE_URL)
    : undefined;
  const blobs = blobStore(clients.endpoints, env.EXPORTS_BUCKET, clients.trace);
  return {
    store: new DynamoBillingStore(clients.dynamo, env.BILLING_TABLE),
    queue: new SqsUsageQueue(clients.sqs, env.USAGE_QUEUE_URL),
    ...(dlq ? { dlq } : {}),
    ...(blobs ? { blobs } : {}),
  };
}

export const handler = lambdaEntry(deadLetterEnvironmentSchema, (env, clients) =>
  createDeadLetterHandler(deadLetterDeps(env, clients)),
);

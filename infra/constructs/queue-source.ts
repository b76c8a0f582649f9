/**
 * A billing function fed by an SQS queue: the event source mapping (partial batch failures
 * reported, concurrency capped), which polls with the function's role, so that role gets consume on
 * that one queue only.
 */
import { type Duration, Validations } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { BillingFunction } from "./billing-function.js";
import { grantQueueConsume } from "./grants.js";

export interface QueueSourceProps {
  readonly batchSize: number;
  readonly maxBatchingWindow?: Duration;
  readonly maxConcurrency: number;
  /** Where a message that keeps failing ends (the queue's redrive policy), for the nag acknowledgement. */
  readonly failedMessages: string;
}

export function consumeQueue(
  fn: BillingFunction,
  id: string,
  queue: sqs.IQueue,
  key: kms.IKey,
  props: QueueSourceProps,
): void {
  fn.function.addEventSourceMapping(id, {
    eventSourceArn: queue.queueArn,
    batchSize: props.batchSize,
    ...(props.maxBatchingWindow ? { maxBatchingWindow: props.maxBatchingWindow } : {}),
    reportBatchItemFailures: true,
    maxConcurrency: props.maxConcurrency,
  });
  grantQueueConsume(fn.function, queue, key);
  Validations.of(fn.function).acknowledge({
    id: "Serverless::Serverless-LambdaEventSourceMappingDestination",
    reason: `An SQS event source has no on-failure destination: ${props.failedMessages}`,
  });
}

/** The usage queue and its dead-letter queue, shaped like the stack's (standard queues, redrive). */
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";

export interface UsageQueues {
  readonly usageQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
}

export async function createUsageQueues(
  sqs: SQSClient,
  opts: { prefix: string; maxReceiveCount: number; visibilityTimeoutSeconds: number },
): Promise<UsageQueues> {
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${opts.prefix}-usage-dlq`,
      // 14 days, the maximum: longer than the source queue's, as a redriven message keeps its enqueue time.
      Attributes: { MessageRetentionPeriod: "1209600" },
    }),
  );
  const deadLetterQueueUrl = required(dlq.QueueUrl, "QueueUrl of the dead-letter queue");
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ["QueueArn"] }),
  );
  const deadLetterQueueArn = required(attrs.Attributes?.QueueArn, "QueueArn of the dead-letter queue");
  const usage = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${opts.prefix}-usage`,
      Attributes: {
        VisibilityTimeout: String(opts.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(4 * 24 * 3600),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: deadLetterQueueArn,
          maxReceiveCount: opts.maxReceiveCount,
        }),
      },
    }),
  );
  return {
    usageQueueUrl: required(usage.QueueUrl, "QueueUrl of the usage queue"),
    deadLetterQueueUrl,
    deadLetterQueueArn,
  };
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new Error(`SQS returned no ${what}`);
  return value;
}

/** The close queue and its DLQ (decisions D15), shaped like the stack's. */
export interface CloseQueues {
  readonly closeQueueUrl: string;
  readonly closeDeadLetterQueueUrl: string;
}

export async function createCloseQueues(
  sqs: SQSClient,
  opts: { prefix: string; maxReceiveCount: number; visibilityTimeoutSeconds: number },
): Promise<CloseQueues> {
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${opts.prefix}-close-dlq`,
      Attributes: { MessageRetentionPeriod: "1209600" },
    }),
  );
  const closeDeadLetterQueueUrl = required(dlq.QueueUrl, "QueueUrl of the close dead-letter queue");
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: closeDeadLetterQueueUrl, AttributeNames: ["QueueArn"] }),
  );
  const dlqArn = required(attrs.Attributes?.QueueArn, "QueueArn of the close dead-letter queue");
  const close = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${opts.prefix}-close`,
      Attributes: {
        VisibilityTimeout: String(opts.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(4 * 24 * 3600),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: opts.maxReceiveCount }),
      },
    }),
  );
  return { closeQueueUrl: required(close.QueueUrl, "QueueUrl of the close queue"), closeDeadLetterQueueUrl };
}

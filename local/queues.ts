/** The usage queue and its dead-letter queue, shaped like the stack's (standard queues, redrive). */
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";

export interface UsageQueues {
  readonly usageQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
}

type QueueOptions = { prefix: string; maxReceiveCount: number; visibilityTimeoutSeconds: number };

export async function createUsageQueues(sqs: SQSClient, opts: QueueOptions): Promise<UsageQueues> {
  const q = await createQueueWithDlq(sqs, `${opts.prefix}-usage`, "", opts);
  return { usageQueueUrl: q.url, deadLetterQueueUrl: q.dlqUrl, deadLetterQueueArn: q.dlqArn };
}

/** A standard queue `name` and its DLQ `name-dlq`, redriven after maxReceiveCount receives. */
async function createQueueWithDlq(
  sqs: SQSClient,
  name: string,
  /** Names the queue in errors: "" (the usage queue) or "close ". */
  label: string,
  opts: QueueOptions,
): Promise<{ url: string; dlqUrl: string; dlqArn: string }> {
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}-dlq`,
      // 14 days, the maximum: longer than the source queue's, as a redriven message keeps its enqueue time.
      Attributes: { MessageRetentionPeriod: "1209600" },
    }),
  );
  const dlqUrl = required(dlq.QueueUrl, `QueueUrl of the ${label}dead-letter queue`);
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
  );
  const dlqArn = required(attrs.Attributes?.QueueArn, `QueueArn of the ${label}dead-letter queue`);
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(opts.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(4 * 24 * 3600),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: opts.maxReceiveCount }),
      },
    }),
  );
  return { url: required(queue.QueueUrl, `QueueUrl of the ${label || "usage "}queue`), dlqUrl, dlqArn };
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new Error(`SQS returned no ${what}`);
  return value;
}

/** The close queue and its DLQ, shaped like the stack's. */
export interface CloseQueues {
  readonly closeQueueUrl: string;
  readonly closeDeadLetterQueueUrl: string;
}

export async function createCloseQueues(sqs: SQSClient, opts: QueueOptions): Promise<CloseQueues> {
  const q = await createQueueWithDlq(sqs, `${opts.prefix}-close`, "close ", opts);
  return { closeQueueUrl: q.url, closeDeadLetterQueueUrl: q.dlqUrl };
}

/** The SQS dead-letter queue behind the usage queue (redrive after maxReceiveCount). */
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { FailedMessageQueue } from "../../app/dead-letters.js";

export class SqsFailedMessageQueue implements FailedMessageQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly dlqUrl: string,
    private readonly usageQueueUrl: string,
  ) {}

  /** SQS has no peek: messages are received with a short visibility timeout and so reappear. */
  async peek(max: number) {
    const seen = new Map<string, { messageId: string; body: string; receiveCount: number }>();
    for (let i = 0; i < Math.ceil(max / 10); i++) {
      const r = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.dlqUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 1,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      const msgs = r.Messages ?? [];
      for (const m of msgs)
        if (m.MessageId && !seen.has(m.MessageId))
          seen.set(m.MessageId, {
            messageId: m.MessageId,
            body: m.Body ?? "",
            receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
          });
      if (msgs.length === 0) break;
    }
    return [...seen.values()];
  }

  async redriveAll(): Promise<number> {
    let moved = 0;
    for (;;) {
      const r = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.dlqUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 30,
          WaitTimeSeconds: 0,
        }),
      );
      const msgs = r.Messages ?? [];
      if (msgs.length === 0) return moved;
      for (const m of msgs) {
        // Send before delete: at worst a message is delivered twice, which ingestion absorbs (G5).
        await this.sqs.send(
          new SendMessageCommand({ QueueUrl: this.usageQueueUrl, MessageBody: m.Body ?? "" }),
        );
        await this.sqs.send(
          new DeleteMessageCommand({ QueueUrl: this.dlqUrl, ReceiptHandle: m.ReceiptHandle }),
        );
        moved += 1;
      }
    }
  }
}

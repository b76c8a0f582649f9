/** The SQS dead-letter queue behind the usage queue (redrive after maxReceiveCount). */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { FailedMessage, FailedMessageQueue } from "../../ports/failed-message-queue.js";

/** How long a listed message stays hidden while the rest of the queue is read (then shown again). */
const HOLD_SECONDS = 300;

export class SqsFailedMessageQueue implements FailedMessageQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly dlqUrl: string,
    private readonly usageQueueUrl: string,
  ) {}

  /**
   * SQS has no peek: every message is received (and so hidden) until the queue has no more to give,
   * then made visible again at once. Not capped at any page count.
   */
  async listAll(): Promise<FailedMessage[]> {
    const held = await this.receiveAll();
    await this.release(held.map((m) => m.ReceiptHandle ?? ""));
    return held.map((m) => ({
      messageId: m.MessageId ?? "",
      body: m.Body ?? "",
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    }));
  }

  async redrive(ids?: ReadonlySet<string>): Promise<string[]> {
    const held = await this.receiveAll();
    const moved: string[] = [];
    const others: string[] = [];
    try {
      for (const m of held) {
        if (ids && !ids.has(m.MessageId ?? "")) {
          others.push(m.ReceiptHandle ?? "");
          continue;
        }
        // Send before delete: at worst a message is delivered twice, which ingestion absorbs (G5).
        await this.sqs.send(
          new SendMessageCommand({ QueueUrl: this.usageQueueUrl, MessageBody: m.Body ?? "" }),
        );
        await this.sqs.send(
          new DeleteMessageCommand({ QueueUrl: this.dlqUrl, ReceiptHandle: m.ReceiptHandle }),
        );
        moved.push(m.MessageId ?? "");
      }
    } finally {
      await this.release(others);
    }
    return moved;
  }

  /**
   * Receives until SQS has nothing more: an empty short receive is confirmed by a 1 s long poll (which,
   * on AWS, asks every server). A message seen again (its hold expired) is not counted twice.
   */
  private async receiveAll(): Promise<Message[]> {
    const seen = new Map<string, Message>();
    for (let wait = 0; ; ) {
      const r = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.dlqUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: HOLD_SECONDS,
          WaitTimeSeconds: wait,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      const msgs = (r.Messages ?? []).filter((m) => m.MessageId && m.ReceiptHandle);
      if (msgs.length === 0) {
        if (wait > 0) return [...seen.values()];
        wait = 1;
        continue;
      }
      wait = 0;
      let fresh = 0;
      for (const m of msgs) {
        if (!seen.has(m.MessageId ?? "")) fresh += 1;
        seen.set(m.MessageId ?? "", m); // the latest receipt handle is the valid one
      }
      if (fresh === 0) return [...seen.values()];
    }
  }

  /** Makes held messages visible again at once. */
  private async release(handles: readonly string[]): Promise<void> {
    for (let i = 0; i < handles.length; i += 10)
      await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.dlqUrl,
          Entries: handles
            .slice(i, i + 10)
            .map((h, j) => ({ Id: String(j), ReceiptHandle: h, VisibilityTimeout: 0 })),
        }),
      );
  }
}

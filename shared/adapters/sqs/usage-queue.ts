/** The usage queue on SQS (or the local SQS-compatible server). */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { UsageQueue } from "../../ports/storage.js";

export class SqsUsageQueue implements UsageQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Sends in batches of 10 (the SQS maximum); a partially failed batch is retried, never dropped. */
  async send(bodies: readonly string[]): Promise<void> {
    for (let i = 0; i < bodies.length; i += 10) {
      let pending = bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(j), MessageBody }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        const r = await this.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }),
        );
        const failed = new Set((r.Failed ?? []).map((f) => f.Id));
        if (failed.size > 0 && attempt >= 5)
          throw new Error(
            `SQS refused ${failed.size} messages: ${r.Failed?.map((f) => f.Message).join("; ")}`,
          );
        pending = pending.filter((e) => failed.has(e.Id));
      }
    }
  }
}

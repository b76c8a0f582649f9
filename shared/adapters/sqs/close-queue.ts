/** The close queue on SQS: one message per (account, period), sent in batches of 10. */
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { CloseQueue, CloseRequest } from "../../ports/close-queue.js";

const MAX_ATTEMPTS = 5;

export class SqsCloseQueue implements CloseQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(requests: readonly CloseRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 10) {
      let pending = requests.slice(i, i + 10).map((r, j) => ({
        Id: String(j),
        MessageBody: JSON.stringify({ accountId: r.accountId, period: r.period }),
      }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        const r = await this.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }),
        );
        const failed = new Set((r.Failed ?? []).map((f) => f.Id));
        const senderFault = (r.Failed ?? []).find((f) => f.SenderFault);
        if (senderFault)
          throw new Error(`close queue refused a request: ${senderFault.Code} ${senderFault.Message}`);
        pending = pending.filter((e) => failed.has(e.Id));
        if (pending.length > 0 && attempt >= MAX_ATTEMPTS)
          throw new Error(`close queue: ${pending.length} requests not sent after ${attempt} attempts`);
        if (pending.length > 0) await new Promise((res) => setTimeout(res, 50 * 2 ** attempt));
      }
    }
  }
}

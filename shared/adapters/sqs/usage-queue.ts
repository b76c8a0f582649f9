/** The usage queue on SQS (or the local SQS-compatible server). */
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { RefusedBody, UsageQueue } from "../../ports/storage.js";

/** AWS's message size limit since 2025 (1 MiB), used when the queue does not report its own. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/** What SQS accepts in a message body: #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters SQS refuses
const FORBIDDEN = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Why SQS would refuse this body, or undefined when it takes it. */
export function sqsRefusal(body: string, maxBytes: number): string | undefined {
  if (body.length === 0) return "empty message body";
  const bad = FORBIDDEN.exec(body);
  if (bad) {
    const cp = bad[0].codePointAt(0) ?? 0;
    return `character U+${cp.toString(16).toUpperCase().padStart(4, "0")} at character ${bad.index + 1} is not allowed in an SQS message`;
  }
  const bytes = Buffer.byteLength(body, "utf8");
  if (bytes > maxBytes) return `${bytes} bytes is over the queue's message size limit of ${maxBytes} bytes`;
  return undefined;
}

export class SqsUsageQueue implements UsageQueue {
  private maxBytes: Promise<number> | undefined;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** The queue's MaximumMessageSize (bytes), else AWS's limit. */
  maxMessageBytes(): Promise<number> {
    this.maxBytes ??= this.sqs
      .send(
        new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ["MaximumMessageSize"] }),
      )
      .then((r) => Number(r.Attributes?.MaximumMessageSize) || SQS_MAX_MESSAGE_BYTES);
    this.maxBytes.catch(() => {
      this.maxBytes = undefined;
    });
    return this.maxBytes;
  }

  /**
   * Sends in batches of at most 10 messages and at most the size limit in total (both SQS maxima).
   * A body SQS can never take is refused up front (or on SQS's own sender-fault answer) and returned,
   * so one bad line never stops the others; other failures of a batch are retried, never dropped.
   */
  async send(bodies: readonly string[]): Promise<{ refused: RefusedBody[] }> {
    const maxBytes = await this.maxMessageBytes();
    const refused: RefusedBody[] = [];
    const batches: { index: number; body: string }[][] = [];
    let batch: { index: number; body: string }[] = [];
    let batchBytes = 0;
    bodies.forEach((body, index) => {
      const reason = sqsRefusal(body, maxBytes);
      if (reason) {
        refused.push({ index, reason });
        return;
      }
      const bytes = Buffer.byteLength(body, "utf8");
      if (batch.length === 10 || batchBytes + bytes > maxBytes) {
        batches.push(batch);
        batch = [];
        batchBytes = 0;
      }
      batch.push({ index, body });
      batchBytes += bytes;
    });
    if (batch.length) batches.push(batch);
    for (const b of batches) refused.push(...(await this.sendBatch(b)));
    return { refused: refused.sort((a, b) => a.index - b.index) };
  }

  private async sendBatch(batch: readonly { index: number; body: string }[]): Promise<RefusedBody[]> {
    const refused: RefusedBody[] = [];
    let pending = batch.map((e) => ({ Id: String(e.index), MessageBody: e.body }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      const r = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }),
      );
      const retry = new Set<string>();
      for (const f of r.Failed ?? []) {
        if (f.SenderFault)
          refused.push({ index: Number(f.Id), reason: `SQS refused it: ${f.Code} ${f.Message}` });
        else retry.add(f.Id ?? "");
      }
      if (retry.size > 0 && attempt >= 5)
        throw new Error(
          `SQS failed ${retry.size} messages 6 times: ${r.Failed?.map((f) => `${f.Code} ${f.Message}`).join("; ")}`,
        );
      pending = pending.filter((e) => retry.has(e.Id));
    }
    return refused;
  }
}

/**
 * What Lambda's SQS event source mapping does, in this process: receive a batch, invoke the real
 * handler with an SQSEvent and a Context, then honour its batchItemFailures the way a mapping with
 * ReportBatchItemFailures does: delete what succeeded, return the rest to the queue for a retry,
 * and let the queue's redrive policy move a message to the DLQ after maxReceiveCount receives.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from "aws-lambda";
import { BillingError } from "../shared/core/errors.js";

export type SqsLambdaHandler = (
  event: SQSEvent,
  context: Context,
  // biome-ignore lint/suspicious/noConfusingVoidType: Lambda's own SQSHandler result type
) => Promise<SQSBatchResponse | void>;

export interface SqsEventSourcePollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Looked up with GetQueueAttributes when not given. */
  readonly queueArn?: string;
  readonly handler: SqsLambdaHandler;
  /** Messages per invocation, 1-10000 (above 10, gathered from several receives). Default 10. */
  readonly batchSize?: number;
  /**
   * Like the mapping's MaximumBatchingWindowInSeconds: once a first message came, keep receiving
   * until the batch is full or this long has passed. Default 0: invoke as soon as a receive comes
   * back empty (the queue is drained locally, so waiting would only add latency).
   */
  readonly maxBatchingWindowMs?: number;
  /** ReceiveMessage long-poll seconds for the first receive of a batch. Default 0. */
  readonly waitTimeSeconds?: number;
  /** Overrides the queue's visibility timeout on receive. */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * How long a failed message stays invisible before its next delivery. Default 0 (at once); Lambda
   * leaves it for the rest of the queue's visibility timeout, which a fault-injection run mirrors.
   */
  readonly failedVisibilityTimeoutSeconds?: number;
  /** Defaults to the queue ARN's region. */
  readonly region?: string;
  readonly functionName?: string;
  readonly onBatch?: (info: { received: number; failed: number }) => void;
  /** Called when the handler throws (the batch is then retried). Default: a Lambda-style log line. */
  readonly onHandlerError?: (error: unknown) => void;
}

export interface DrainResult {
  /** Messages handled successfully and deleted. */
  readonly processed: number;
  /** Failed deliveries (a message failing three times counts three). */
  readonly failed: number;
  /** Handler invocations. */
  readonly batches: number;
}

/** drain() saw no progress for `stallCycles` consecutive poll cycles while messages remained. */
export class DrainStalledError extends BillingError {
  override readonly name = "DrainStalledError";
  constructor(
    readonly stallCycles: number,
    readonly progress: DrainResult,
    readonly queueAttributes: Record<string, string>,
  ) {
    super(
      `queue not drained: no progress in ${stallCycles} poll cycles (${progress.processed} processed, ` +
        `${progress.failed} failed deliveries); queue attributes: ${JSON.stringify(queueAttributes)}`,
    );
  }
}

/** Default stall limit: at the 1 s idle back-off, at least ten minutes without any progress. */
const STALL_CYCLES = 600;

/** Nominal invocation budget for context.getRemainingTimeInMillis() (the stack's ingest timeout). */
const FUNCTION_TIMEOUT_MS = 30_000;
/** The queue attributes that are all zero when a queue is empty (visible, in flight, delayed). */
export const EMPTY_COUNTERS = [
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SqsEventSourcePoller {
  private readonly batchSize: number;
  private arn: Promise<string> | undefined;

  constructor(private readonly opts: SqsEventSourcePollerOptions) {
    this.batchSize = opts.batchSize ?? 10;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10_000)
      throw new RangeError(`batchSize must be an integer from 1 to 10000, not ${opts.batchSize}`);
  }

  /** One receive-invoke-acknowledge cycle; returns zeros (and does not invoke) when nothing came. */
  async pollOnce(): Promise<{ received: number; failed: number }> {
    const messages = await this.receiveBatch();
    if (messages.length === 0) return { received: 0, failed: 0 };
    const queueArn = await this.queueArn();
    const region = this.opts.region ?? queueArn.split(":")[3] ?? "us-east-1";
    const records = messages.map((m) => toRecord(m, queueArn, region));

    let failedIds: ReadonlySet<string>;
    try {
      const result = await this.opts.handler({ Records: records }, this.context(queueArn, region));
      failedIds = reportedFailures(result, records);
    } catch (e) {
      (this.opts.onHandlerError ?? logInvokeError)(e);
      failedIds = new Set(records.map((r) => r.messageId));
    }

    const ok = records.filter((r) => !failedIds.has(r.messageId));
    const failed = records.filter((r) => failedIds.has(r.messageId));
    await this.deleteMessages(ok);
    await this.makeVisible(failed);
    const info = { received: records.length, failed: failed.length };
    this.opts.onBatch?.(info);
    return info;
  }

  /**
   * Polls until the queue is empty: a receive returned nothing and the queue reports no visible,
   * in-flight or delayed messages. Exact on the local server; on real SQS, whose counters lag, set
   * waitTimeSeconds so that an empty receive means an empty queue.
   *
   * It has no deadline, so a slow machine only makes it slower: it gives up (DrainStalledError) only
   * after `stallCycles` consecutive cycles without progress — no message handled and no change in
   * the queue's counters (a redrive to the DLQ is progress; a message failing forever without one is not).
   */
  async drain(
    opts: { stallCycles?: number; onProgress?: (p: { processed: number; failed: number }) => void } = {},
  ): Promise<DrainResult> {
    const stallCycles = opts.stallCycles ?? STALL_CYCLES;
    let processed = 0;
    let failed = 0;
    let batches = 0;
    let last = JSON.stringify(await this.counters());
    for (let idle = 0, stalled = 0; ; ) {
      const r = await this.pollOnce();
      let progressed = false;
      if (r.received > 0) {
        batches += 1;
        processed += r.received - r.failed;
        failed += r.failed;
        idle = 0;
        progressed = r.received > r.failed;
        opts.onProgress?.({ processed, failed });
      }
      if (!progressed) {
        const c = await this.counters();
        if (r.received === 0 && EMPTY_COUNTERS.every((k) => (c[k] ?? "0") === "0"))
          return { processed, failed, batches };
        const now = JSON.stringify(c);
        progressed = now !== last;
        last = now;
        if (!progressed && ++stalled >= stallCycles)
          throw new DrainStalledError(stallCycles, { processed, failed, batches }, c);
        // Messages in flight elsewhere or delayed: wait for their visibility timeout or delay.
        if (r.received === 0) await sleep(Math.min(1_000, 25 * 2 ** idle++));
      }
      if (progressed) stalled = 0;
    }
  }

  private async receiveBatch(): Promise<Message[]> {
    const { sqs, queueUrl, visibilityTimeoutSeconds } = this.opts;
    const batch: Message[] = [];
    let windowEnd = 0;
    while (batch.length < this.batchSize) {
      const r = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, this.batchSize - batch.length),
          WaitTimeSeconds: batch.length === 0 ? (this.opts.waitTimeSeconds ?? 0) : 0,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
          ...(visibilityTimeoutSeconds !== undefined ? { VisibilityTimeout: visibilityTimeoutSeconds } : {}),
        }),
      );
      const got = r.Messages ?? [];
      if (got.length === 0) {
        if (batch.length === 0 || Date.now() >= windowEnd) break;
        await sleep(Math.min(50, windowEnd - Date.now()));
        continue;
      }
      if (batch.length === 0) windowEnd = Date.now() + (this.opts.maxBatchingWindowMs ?? 0);
      batch.push(...got);
    }
    return batch;
  }

  private async deleteMessages(records: readonly SQSRecord[]): Promise<void> {
    for (const chunk of chunks(records, 10)) {
      const r = await this.opts.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.opts.queueUrl,
          Entries: chunk.map((rec, i) => ({ Id: String(i), ReceiptHandle: rec.receiptHandle })),
        }),
      );
      // A handled message left undeleted would be delivered again: never let that pass silently.
      if (r.Failed?.length)
        throw new Error(
          `DeleteMessageBatch failed: ${r.Failed.map((f) => `${f.Code} ${f.Message}`).join("; ")}`,
        );
    }
  }

  /**
   * Lambda leaves a failed message invisible until its visibility timeout expires; locally that
   * would only slow retries down, so it is made visible at once. Failed entries are ignored: such a
   * message reappears when its timeout expires anyway.
   */
  private async makeVisible(records: readonly SQSRecord[]): Promise<void> {
    for (const chunk of chunks(records, 10)) {
      await this.opts.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.opts.queueUrl,
          Entries: chunk.map((rec, i) => ({
            Id: String(i),
            ReceiptHandle: rec.receiptHandle,
            VisibilityTimeout: this.opts.failedVisibilityTimeoutSeconds ?? 0,
          })),
        }),
      );
    }
  }

  private async counters(): Promise<Record<string, string>> {
    const r = await this.opts.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: this.opts.queueUrl, AttributeNames: [...EMPTY_COUNTERS] }),
    );
    return r.Attributes ?? {};
  }

  private queueArn(): Promise<string> {
    const { sqs, queueUrl, queueArn } = this.opts;
    if (queueArn) return Promise.resolve(queueArn);
    this.arn ??= sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))
      .then((r) => {
        const arn = r.Attributes?.QueueArn;
        if (!arn) throw new Error(`no QueueArn for ${queueUrl}`);
        return arn;
      });
    this.arn.catch(() => {
      this.arn = undefined;
    });
    return this.arn;
  }

  private context(queueArn: string, region: string): Context {
    const functionName = this.opts.functionName ?? "sqs-consumer";
    const account = queueArn.split(":")[4] || "000000000000";
    const deadline = Date.now() + FUNCTION_TIMEOUT_MS;
    const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
    const callbackStyle = () => {
      throw new Error("context.done/fail/succeed are not supported: return a promise");
    };
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: "$LATEST",
      invokedFunctionArn: `arn:aws:lambda:${region}:${account}:function:${functionName}`,
      memoryLimitInMB: "128",
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `${day}/[$LATEST]${randomUUID().replaceAll("-", "")}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: callbackStyle,
      fail: callbackStyle,
      succeed: callbackStyle,
    };
  }
}

/**
 * The failed message ids, read as Lambda reads a ReportBatchItemFailures response: no response or
 * no (or an empty) list is complete success; a malformed list, or an itemIdentifier that is empty
 * or not a message of the batch, fails the whole batch.
 */
function reportedFailures(result: unknown, records: readonly SQSRecord[]): ReadonlySet<string> {
  const all = new Set(records.map((r) => r.messageId));
  if (result === undefined || result === null || typeof result !== "object") return new Set();
  const list = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return new Set();
  if (!Array.isArray(list)) return all;
  const failed = new Set<string>();
  for (const item of list) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

function toRecord(m: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  if (!m.MessageId || !m.ReceiptHandle)
    throw new Error("SQS returned a message without id or receipt handle");
  const body = m.Body ?? "";
  return {
    messageId: m.MessageId,
    receiptHandle: m.ReceiptHandle,
    body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: "0",
      SenderId: "",
      ApproximateFirstReceiveTimestamp: "0",
      ...m.Attributes,
    },
    messageAttributes: toLambdaAttributes(m.MessageAttributes),
    md5OfBody: m.MD5OfBody ?? createHash("md5").update(body, "utf8").digest("hex"),
    ...(m.MD5OfMessageAttributes ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    eventSource: "aws:sqs",
    eventSourceARN,
    awsRegion,
  };
}

/** The SDK's MessageAttributeValue as Lambda delivers it: camelCase, binaries in base64. */
function toLambdaAttributes(attrs: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  const base64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
  for (const [name, v] of Object.entries(attrs ?? {})) {
    out[name] = {
      ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { binaryValue: base64(v.BinaryValue) } : {}),
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map(base64),
      dataType: v.DataType ?? "String",
    };
  }
  return out;
}

function logInvokeError(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  console.error(
    JSON.stringify({
      level: "ERROR",
      message: "Invoke Error",
      errorType: err.name,
      errorMessage: err.message,
    }),
  );
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

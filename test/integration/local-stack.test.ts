/**
 * The embedded local stack on real parts: DynamoDB Local (a JVM), fauxqs in-process, the queues with
 * their redrive policy, and the event-source poller's Lambda semantics (partial batch failures,
 * retries, DLQ after maxReceiveCount). Ends by checking that stop() leaves nothing running.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { endianness } from "node:os";
import { DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoDbLocal, JavaMissingError, startDynamoDbLocal } from "../../local/dynamodb-local.js";
import {
  DrainStalledError,
  SqsEventSourcePoller,
  type SqsEventSourcePollerOptions,
} from "../../local/event-source-poller.js";
import { createUsageQueues } from "../../local/queues.js";
import { type SqsServer, startSqsServer } from "../../local/sqs-server.js";
import { ensureBillingTable } from "../../shared/adapters/dynamodb/billing-table.js";

const REGION = "us-east-1";
const credentials = { accessKeyId: "local", secretAccessKey: "local" };

/** Resolves true when something accepts a TCP connection on 127.0.0.1:port. */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

const portOf = (endpoint: string) => Number(new URL(endpoint).port);

/**
 * The local addresses of the TCP sockets listening on a port, from Linux's /proc/net/tcp and tcp6
 * (no `ss` needed). The kernel prints each address as 32-bit words in host byte order.
 */
function listeningAddresses(port: number): string[] {
  const hostBytes = (hex: string) =>
    (hex.match(/.{8}/g) ?? []).flatMap((word) => {
      const bytes = (word.match(/../g) ?? []).map((b) => Number.parseInt(b, 16));
      return endianness() === "LE" ? bytes.reverse() : bytes;
    });
  const addresses: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, "utf8").trim().split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [hex, portHex] = local?.split(":") ?? [];
      if (state !== "0A" || !hex || Number.parseInt(portHex ?? "", 16) !== port) continue; // 0A: LISTEN
      const b = hostBytes(hex);
      if (b.length === 4) addresses.push(b.join("."));
      else if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
        addresses.push(`::ffff:${b.slice(12).join(".")}`);
      else if (b.every((x) => x === 0)) addresses.push("::");
      else
        addresses.push(
          Array.from({ length: 8 }, (_, i) =>
            (((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0)).toString(16),
          ).join(":"),
        );
    }
  }
  return addresses;
}

async function sendAll(sqs: SQSClient, queueUrl: string, bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) {
    const r = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: `m${j}`, MessageBody })),
      }),
    );
    expect(r.Failed ?? []).toEqual([]);
  }
}

async function counters(sqs: SQSClient, queueUrl: string) {
  const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }));
  return {
    visible: r.Attributes?.ApproximateNumberOfMessages,
    inFlight: r.Attributes?.ApproximateNumberOfMessagesNotVisible,
  };
}

describe("local stack", () => {
  let dynamo: DynamoDbLocal;
  let sqsServer: SqsServer;
  let ddb: DynamoDBClient;
  let sqs: SQSClient;

  beforeAll(async () => {
    [dynamo, sqsServer] = await Promise.all([startDynamoDbLocal(), startSqsServer()]);
    ddb = new DynamoDBClient({ endpoint: dynamo.endpoint, region: REGION, credentials });
    sqs = new SQSClient({ endpoint: sqsServer.endpoint, region: REGION, credentials });
  });

  afterAll(async () => {
    ddb?.destroy();
    sqs?.destroy();
    await Promise.all([dynamo?.stop(), sqsServer?.stop()]);
  });

  /** A usage queue named after `prefix` and its DLQ (maxReceiveCount 3, visibility 30 s). */
  const usageQueues = (prefix: string) =>
    createUsageQueues(sqs, { prefix, maxReceiveCount: 3, visibilityTimeoutSeconds: 30 });
  /** A poller on the queue at `queueUrl`, through this stack's SQS client. */
  const pollerOn = (queueUrl: string, options: Omit<SqsEventSourcePollerOptions, "sqs" | "queueUrl">) =>
    new SqsEventSourcePoller({ sqs, queueUrl, ...options });

  it("serves both endpoints on loopback", () => {
    expect(dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sqsServer.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  // Linux only (the project's machines and Lambda): /proc/net lists the listening sockets.
  it("binds DynamoDB Local to 127.0.0.1 only, not all interfaces", () => {
    const addresses = listeningAddresses(portOf(dynamo.endpoint));
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses) expect(["127.0.0.1", "::ffff:127.0.0.1"]).toContain(address);
  });

  it("round-trips an item through DynamoDB Local", async () => {
    // The billing table's key schema (pk, sk), created as the stores create it.
    await ensureBillingTable(ddb, "round-trip");
    const item = { pk: { S: "acct#1" }, sk: { S: "usage#1" }, units: { N: "42" } };
    await ddb.send(new PutItemCommand({ TableName: "round-trip", Item: item }));
    const got = await ddb.send(
      new GetItemCommand({
        TableName: "round-trip",
        Key: { pk: item.pk, sk: item.sk },
        ConsistentRead: true,
      }),
    );
    expect(got.Item).toEqual(item);
    expect((await ddb.send(new ListTablesCommand({}))).TableNames).toContain("round-trip");
  });

  it("creates the usage queue with a redrive policy to its DLQ", async () => {
    const q = await createUsageQueues(sqs, {
      prefix: "shape",
      maxReceiveCount: 4,
      visibilityTimeoutSeconds: 45,
    });
    const attrs = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.usageQueueUrl, AttributeNames: ["All"] }))
    ).Attributes;
    expect(attrs?.VisibilityTimeout).toBe("45");
    expect(JSON.parse(attrs?.RedrivePolicy ?? "{}")).toEqual({
      deadLetterTargetArn: q.deadLetterQueueArn,
      maxReceiveCount: 4,
    });
    expect(q.deadLetterQueueArn).toMatch(/^arn:aws:sqs:us-east-1:\d{12}:shape-usage-dlq$/);
    // Idempotent, as the CLI may set up twice.
    expect(
      await createUsageQueues(sqs, { prefix: "shape", maxReceiveCount: 4, visibilityTimeoutSeconds: 45 }),
    ).toEqual(q);
  });

  it("reports the visible and in-flight counters that drain() relies on", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "counters" }));
    if (!QueueUrl) throw new Error("no queue url");
    await sendAll(sqs, QueueUrl, ["a", "b"]);
    expect(await counters(sqs, QueueUrl)).toEqual({ visible: "2", inFlight: "0" });
    await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
    expect(await counters(sqs, QueueUrl)).toEqual({ visible: "1", inFlight: "1" });
  });

  it("builds a Lambda-shaped SQSEvent and Context", async () => {
    const q = await usageQueues("shape-ev");
    const before = Date.now();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: q.usageQueueUrl,
        MessageBody: '{"hello":"world"}',
        MessageAttributes: {
          kind: { DataType: "String", StringValue: "usage" },
          blob: { DataType: "Binary", BinaryValue: new Uint8Array([1, 2, 3]) },
        },
      }),
    );
    const events: SQSEvent[] = [];
    let remaining = 0;
    let functionArn = "";
    const poller = pollerOn(q.usageQueueUrl, {
      functionName: "ingest-usage",
      handler: async (event, context) => {
        events.push(event);
        remaining = context.getRemainingTimeInMillis();
        functionArn = context.invokedFunctionArn;
      },
    });
    expect(await poller.pollOnce()).toEqual({ received: 1, failed: 0 });
    const record = events[0]?.Records[0];
    expect(record).toMatchObject({
      body: '{"hello":"world"}',
      md5OfBody: createHash("md5").update('{"hello":"world"}').digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:shape-ev-usage",
      awsRegion: REGION,
      attributes: { ApproximateReceiveCount: "1", SenderId: expect.any(String) },
      messageAttributes: {
        kind: { stringValue: "usage", stringListValues: [], binaryListValues: [], dataType: "String" },
        blob: { binaryValue: "AQID", stringListValues: [], binaryListValues: [], dataType: "Binary" },
      },
    });
    expect(Number(record?.attributes.SentTimestamp)).toBeGreaterThanOrEqual(before - 1000);
    expect(Number(record?.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(before - 1000);
    expect(record?.messageId).toMatch(/\S/);
    expect(record?.receiptHandle).toMatch(/\S/);
    expect(remaining).toBeGreaterThanOrEqual(0); // a nominal budget; no assertion on how fast we got here
    expect(remaining).toBeLessThanOrEqual(30_000);
    expect(functionArn).toBe("arn:aws:lambda:us-east-1:000000000000:function:ingest-usage");
    // Deleted after success: nothing left.
    expect(await counters(sqs, q.usageQueueUrl)).toEqual({ visible: "0", inFlight: "0" });
  });

  it("deletes successes, retries reported failures and dead-letters them after maxReceiveCount", async () => {
    const q = await usageQueues("partial");
    const bodies = Array.from({ length: 25 }, (_, i) => `msg-${i}`);
    await sendAll(sqs, q.usageQueueUrl, bodies);

    const handled = new Map<string, number>();
    const poisonReceiveCounts: string[] = [];
    const batchSizes: number[] = [];
    const poller = pollerOn(q.usageQueueUrl, {
      queueArn: undefined, // looked up
      region: REGION,
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
        batchSizes.push(event.Records.length);
        const batchItemFailures: { itemIdentifier: string }[] = [];
        for (const r of event.Records) {
          if (r.body === "msg-7") {
            poisonReceiveCounts.push(r.attributes.ApproximateReceiveCount);
            batchItemFailures.push({ itemIdentifier: r.messageId });
          } else handled.set(r.body, (handled.get(r.body) ?? 0) + 1);
        }
        return { batchItemFailures };
      },
    });
    const progress: { processed: number; failed: number }[] = [];
    const r = await poller.drain({ onProgress: (p) => progress.push(p) });

    expect(r).toEqual({ processed: 24, failed: 3, batches: batchSizes.length });
    expect(Math.max(...batchSizes)).toBeLessThanOrEqual(10);
    expect(progress.at(-1)).toEqual({ processed: 24, failed: 3 });
    expect([...handled.keys()].sort()).toEqual(bodies.filter((b) => b !== "msg-7").sort());
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    // Handed to the handler maxReceiveCount times, then moved by the redrive on the next receive.
    expect(poisonReceiveCounts).toEqual(["1", "2", "3"]);
    expect(await counters(sqs, q.usageQueueUrl)).toEqual({ visible: "0", inFlight: "0" });

    const dlq = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: q.deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
    );
    expect(dlq.Messages?.map((m) => m.Body)).toEqual(["msg-7"]);
    // fauxqs keeps counting across the move: 3 deliveries + the redriving receive + this one.
    expect(Number(dlq.Messages?.[0]?.Attributes?.ApproximateReceiveCount)).toBeGreaterThan(3);
  });

  it("retries the whole batch when the handler throws", async () => {
    const q = await usageQueues("throws");
    const bodies = Array.from({ length: 5 }, (_, i) => `t-${i}`);
    await sendAll(sqs, q.usageQueueUrl, bodies);
    const invocations: SQSRecord[][] = [];
    const errors: unknown[] = [];
    const poller = pollerOn(q.usageQueueUrl, {
      queueArn: "arn:aws:sqs:us-east-1:000000000000:throws-usage",
      onHandlerError: (e) => errors.push(e),
      handler: async (event) => {
        invocations.push(event.Records);
        if (invocations.length === 1) throw new Error("transient");
      },
    });
    expect(await poller.pollOnce()).toEqual({ received: 5, failed: 5 });
    expect(errors).toHaveLength(1);
    expect(await counters(sqs, q.usageQueueUrl)).toEqual({ visible: "5", inFlight: "0" });

    expect(await poller.drain()).toEqual({ processed: 5, failed: 0, batches: 1 });
    expect(invocations).toHaveLength(2);
    expect(invocations[1]?.map((r) => r.body).sort()).toEqual(bodies);
    expect(invocations[1]?.every((r) => r.attributes.ApproximateReceiveCount === "2")).toBe(true);
    expect(await counters(sqs, q.deadLetterQueueUrl)).toEqual({ visible: "0", inFlight: "0" });
  });

  it("fails the whole batch on an itemIdentifier that is not in it, as Lambda does", async () => {
    const q = await usageQueues("bogus");
    await sendAll(sqs, q.usageQueueUrl, ["x", "y"]);
    const poller = pollerOn(q.usageQueueUrl, {
      handler: async () => ({ batchItemFailures: [{ itemIdentifier: "not-a-message-id" }] }),
    });
    expect(await poller.pollOnce()).toEqual({ received: 2, failed: 2 });
    expect(await counters(sqs, q.usageQueueUrl)).toEqual({ visible: "2", inFlight: "0" });
  });

  it("gathers batches larger than one receive", async () => {
    const q = await usageQueues("big");
    await sendAll(
      sqs,
      q.usageQueueUrl,
      Array.from({ length: 23 }, (_, i) => `b-${i}`),
    );
    const sizes: number[] = [];
    const poller = pollerOn(q.usageQueueUrl, {
      batchSize: 20,
      handler: async (e) => {
        sizes.push(e.Records.length);
      },
    });
    expect(await poller.drain()).toEqual({ processed: 23, failed: 0, batches: 2 });
    expect(sizes).toEqual([20, 3]);
  });

  it("throws DrainStalledError when messages keep failing and there is no redrive (no progress, not a clock)", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "no-redrive" }));
    if (!QueueUrl) throw new Error("no queue url");
    await sendAll(sqs, QueueUrl, ["stuck"]);
    const poller = pollerOn(QueueUrl, {
      onHandlerError: () => undefined,
      handler: async () => {
        throw new Error("always");
      },
    });
    const err = await poller.drain({ stallCycles: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DrainStalledError);
    expect((err as DrainStalledError).stallCycles).toBe(5);
    expect((err as DrainStalledError).progress.processed).toBe(0);
    expect((err as DrainStalledError).progress.failed).toBeGreaterThan(0);
    expect((err as DrainStalledError).queueAttributes.ApproximateNumberOfMessages).toBe("1");
  });

  it("drains an empty queue at once", async () => {
    const q = await usageQueues("empty");
    const poller = pollerOn(q.usageQueueUrl, {
      handler: async () => undefined,
    });
    expect(await poller.drain()).toEqual({ processed: 0, failed: 0, batches: 0 });
  });

  it("names a missing Java with JavaMissingError", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(startDynamoDbLocal()).rejects.toBeInstanceOf(JavaMissingError);
      await expect(startDynamoDbLocal()).rejects.toThrow(/npm run setup.*default-jre-headless/);
    } finally {
      process.env.PATH = path;
    }
  });

  it("stop() leaves nothing running", async () => {
    const ports = [portOf(dynamo.endpoint), portOf(sqsServer.endpoint)];
    expect(await Promise.all(ports.map(accepts))).toEqual([true, true]);
    ddb.destroy();
    sqs.destroy();
    await Promise.all([dynamo.stop(), sqsServer.stop()]);
    expect(await Promise.all(ports.map(accepts))).toEqual([false, false]);
    expect(() => process.kill(dynamo.pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
    // Idempotent.
    await Promise.all([dynamo.stop(), sqsServer.stop()]);
  });
});

/**
 * The Lambda handlers' contracts on real parts: the ingest handler reports only the messages it could
 * not store as batch item failures (so SQS retries just those), and the dead-letter function lists
 * and redrives.
 */
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeadLetterHandler } from "../../functions/dead-letter/handler.js";
import { createIngestHandler } from "../../functions/ingest-usage/handler.js";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { directoryOf } from "../../shared/app/ingest-usage.js";
import { parseAccounts, parseTariffs } from "../../shared/core/config.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";

const tariffs = parseTariffs([
  {
    tariffId: "std",
    currency: "EUR",
    versions: [
      {
        publishedAt: "2024-12-01T00:00:00Z",
        effectiveFrom: "2025-01-01T00:00:00Z",
        rates: [{ product: "sms.mt", unitPrice: "0.05" }],
      },
    ],
  },
]);
const accounts = parseAccounts(
  [{ accountId: "acme", name: "Acme", currency: "EUR", tariffId: "std" }],
  tariffs,
);
const record = (messageId: string, body: string) => ({ messageId, body }) as SQSRecord;
const sms = (id: string) =>
  JSON.stringify({
    specversion: "1.0",
    id,
    source: "/gw",
    type: "sms.mt",
    subject: "acme",
    time: "2025-07-02T09:00:00Z",
    data: { to: "1", country: "TR", status: "submitted" },
  });

describe("Lambda handlers", () => {
  let system: LocalBillingSystem;
  const clock = new VirtualClock(Date.parse("2025-07-03T00:00:00Z"));
  beforeAll(async () => {
    system = await startLocalBillingSystem({ clock });
    await system.loadConfig({ accounts, tariffs });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it("ingest: a storage failure is reported per message, the bad message is still dead-lettered", async () => {
    // A real DynamoDB whose ledger table does not exist: every write fails as it would in a bad deployment.
    const broken = new DynamoBillingStore(
      dynamoClient({ region: "us-east-1", dynamodbEndpoint: system.endpoints.dynamodb }),
      "no-such-table",
    );
    const handler = createIngestHandler({
      usage: broken.usage,
      periods: broken,
      deadLetters: system.store,
      clock,
      accounts: directoryOf({ accounts, tariffs }),
    });
    const r = await handler({
      Records: [record("m1", sms("h1")), record("m2", "{not json"), record("m3", sms("h3"))],
    } as SQSEvent);
    expect(r.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["m1", "m3"]);
    expect(r.outcomes).toMatchObject({ failed: 2, "dead-lettered": 1 });
    expect((await system.store.list()).map((d) => d.messageId)).toContain("m2");
  });

  it("ingest: a healthy batch reports no failures and stores each message once", async () => {
    const handler = createIngestHandler({
      usage: system.store.usage,
      periods: system.store,
      deadLetters: system.store,
      clock,
      accounts: directoryOf({ accounts, tariffs }),
    });
    const r = await handler({
      Records: [record("n1", sms("k1")), record("n2", sms("k1")), record("n3", sms("k2"))],
    } as SQSEvent);
    expect(r.batchItemFailures).toEqual([]);
    expect(r.outcomes).toMatchObject({ stored: 2, duplicate: 1, failed: 0 });
  });

  it("dead-letter function: lists letters with reasons and redrives them to the usage queue", async () => {
    const handler = createDeadLetterHandler({
      store: system.store,
      queue: system.usageQueue,
      dlq: system.failedMessages,
    });
    const listed = (await handler({ action: "list" })) as {
      invalid: { messageId: string; reason: string }[];
    };
    expect(listed.invalid).toEqual([
      expect.objectContaining({ messageId: "m2", reason: expect.stringMatching(/^body is not JSON/) }),
    ]);
    const redriven = await handler({ action: "redrive" });
    expect(redriven).toEqual({ redriven: 1, fromQueue: 0 });
    const tally = await system.drain();
    expect(tally["dead-lettered"]).toBe(1); // still not JSON: back in the store, with its reason, not lost
    await expect(handler({ action: "explode" })).rejects.toThrow();
  });
});

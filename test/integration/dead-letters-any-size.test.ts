/**
 * Every message reaches the dead-letter store with its reason, whatever its size or content,
 * on real parts: DynamoDB Local, fauxqs for SQS and S3 (the exports bucket), the real ingest handler.
 * Bodies larger than the excerpt are kept whole in the bucket and redriven whole.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { S3BlobStore, s3Client } from "../../shared/adapters/s3/blob-store.js";
import { EXCERPT_BYTES, putDeadLetter, redriveDeadLetters } from "../../shared/app/dead-letters.js";
import { NO_CONFIGURATION } from "../../shared/app/ingest-usage.js";
import { BlobRefusedError } from "../../shared/ports/blob-store.js";
import type { DeadLetter } from "../../shared/ports/storage.js";
import { blobStore } from "../../shared/runtime/wiring.js";
import { configOf, stdTariffs, useLocalSystem } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }]);
const accounts = configOf(tariffs).accounts;
const msg = (over: Record<string, unknown> = {}, data: Record<string, unknown> = {}) =>
  JSON.stringify({
    specversion: "1.0",
    id: "m-1",
    source: "/gw/eu-1",
    type: "sms.mt",
    subject: "acme",
    time: "2025-07-02T09:00:00Z",
    data: { to: "1", country: "TR", status: "submitted", ...data },
    ...over,
  });
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const bytes = (s: string) => Buffer.byteLength(s);

describe("dead letters of any size and content, on DynamoDB Local and fauxqs (SQS + S3)", () => {
  // No configuration at first: the first test loads it.
  const scenario = useLocalSystem({ at: "2025-07-02T10:00:00Z" });
  const letterWith = async (body: string): Promise<DeadLetter> => {
    const letter = (await scenario.system.store.list()).find((l) => l.bodySha256 === sha256(body));
    expect(letter, `no dead letter for a ${bytes(body)}-byte body`).toBeDefined();
    return letter!;
  };

  it("before any configuration is loaded, a message is dead-lettered (not retried) and rated once redriven after the load", async () => {
    const body = msg({ id: "before-config" });
    await scenario.system.send([body]);
    const tally = await scenario.system.drain();
    expect(tally).toMatchObject({ "dead-lettered": 1, failed: 0 });
    expect((await letterWith(body)).reason).toBe(NO_CONFIGURATION);
    expect(await scenario.system.failedMessages.listAll()).toEqual([]);

    await scenario.system.loadConfig({ accounts, tariffs });
    const r = await redriveDeadLetters(scenario.system.store, scenario.system.usageQueue, {
      blobs: scenario.system.blobs,
    });
    expect(r.redriven).toBe(1);
    expect(await scenario.system.drain()).toMatchObject({ stored: 1, "dead-lettered": 0 });
    expect(await scenario.system.store.list()).toEqual([]);
  });

  it("a 420 KB body, a 1,500-character source and a 150 KB unknown subject are each dead-lettered with a reason", async () => {
    const huge = msg({ id: "huge" }, { padding: "x".repeat(420 * 1024) });
    const longSource = msg({ id: "long-source", source: `/${"s".repeat(1499)}` });
    const bigSubject = msg({ id: "big-subject", subject: "u".repeat(150 * 1024) });
    // Sent one by one: each is a message of its own size (fauxqs, like SQS, takes up to 1 MiB).
    for (const b of [huge, longSource, bigSubject]) await scenario.system.send([b]);
    const tally = await scenario.system.drain();
    expect(tally).toEqual({ stored: 0, duplicate: 0, conflict: 0, "dead-lettered": 3, failed: 0 });
    expect(await scenario.system.failedMessages.listAll()).toEqual([]);

    const h = await letterWith(huge);
    expect(h.reason).toBe(`message body is ${bytes(huge)} bytes; a usage message may be at most 262144`);
    expect(h.subject).toBe("acme");
    expect(h.bodyBytes).toBe(bytes(huge));
    expect(bytes(h.excerpt)).toBeLessThanOrEqual(EXCERPT_BYTES);
    expect(huge.startsWith(h.excerpt)).toBe(true);
    expect(h.body).toBeUndefined();
    expect(h.bodyKey).toBe(`dead-letters/${sha256(huge)}`);
    expect(await scenario.system.blobs.get(h.bodyKey!)).toBe(huge);
    // The Lambdas' wiring (EXPORTS_BUCKET, S3 loaded on first use) reads the same object.
    const wired = blobStore(
      { region: "us-east-1", s3Endpoint: scenario.system.endpoints.s3 },
      scenario.system.exportsBucket,
    );
    expect(await wired?.get(h.bodyKey!)).toBe(huge);
    expect(await wired?.get("dead-letters/none")).toBeUndefined();

    const s = await letterWith(longSource);
    expect(s.reason).toMatch(/^invalid CloudEvents envelope: source: /);
    expect(s.body).toBe(longSource); // small enough to be kept inline

    const u = await letterWith(bigSubject);
    expect(u.reason).toMatch(/^unknown account "u{200}… \(153400 more characters\)" \(subject\)$/);
    expect(u.subject).toBeUndefined(); // too long to keep; the excerpt shows it
    expect(await scenario.system.blobs.get(u.bodyKey!)).toBe(bigSubject);
  });

  it("a redrive re-sends the whole body from the bucket, not the excerpt", async () => {
    const huge = (await scenario.system.store.list()).find((l) => l.bodyBytes > 420 * 1024)!;
    const r = await redriveDeadLetters(scenario.system.store, scenario.system.usageQueue, {
      ids: [huge.deadLetterId],
      blobs: scenario.system.blobs,
    });
    expect(r).toEqual({ redriven: 1, fromQueue: 0, kept: [] });
    expect(await scenario.system.drain()).toMatchObject({ "dead-lettered": 1 });
    const again = (await scenario.system.store.list()).filter((l) => l.bodySha256 === huge.bodySha256);
    expect(again).toHaveLength(1);
    expect(again[0]?.deadLetterId).not.toBe(huge.deadLetterId); // a new SQS message
    expect(again[0]?.bodyBytes).toBe(huge.bodyBytes);

    // Without the bucket the whole body cannot be had: the letter stays, and says why.
    const kept = await redriveDeadLetters(scenario.system.store, scenario.system.usageQueue, {
      ids: [again[0]!.deadLetterId],
    });
    expect(kept.redriven).toBe(0);
    expect(kept.kept[0]?.reason).toMatch(/only an excerpt of the \d+-byte body was kept/);
  });

  it("a body the bucket refuses for good is kept as an excerpt; one it cannot take now returns the message to the queue", async () => {
    const large = msg({ id: "refused" }, { padding: "r".repeat(2 * EXCERPT_BYTES) });
    const at = { messageId: "refused-1", receivedAt: Date.parse("2025-07-02T10:00:00Z"), reason: "test" };
    // No such bucket: S3 answers 404, which no retry changes (the SDK does not classify it transient).
    const missing = new S3BlobStore(
      s3Client({ region: "us-east-1", s3Endpoint: scenario.system.endpoints.s3 }),
      "no-such-bucket",
    );
    await expect(missing.put("dead-letters/x", "x")).rejects.toBeInstanceOf(BlobRefusedError);
    const letter = await putDeadLetter(
      { deadLetters: scenario.system.store, blobs: missing },
      { ...at, body: large },
    );
    expect(letter).toMatchObject({ bodyBytes: bytes(large), bodySha256: sha256(large) });
    expect(letter.bodyKey).toBeUndefined();
    expect(large.startsWith(letter.excerpt)).toBe(true);
    expect((await letterWith(large)).deadLetterId).toBe("refused-1");

    // Nothing listens on the endpoint: a network error, transient, so the dead letter is not written.
    const unreachable = new S3BlobStore(
      s3Client({ region: "us-east-1", s3Endpoint: "http://127.0.0.1:9" }),
      scenario.system.exportsBucket,
    );
    const down = msg({ id: "unreachable" }, { padding: "u".repeat(2 * EXCERPT_BYTES) });
    const failed = putDeadLetter(
      { deadLetters: scenario.system.store, blobs: unreachable },
      { ...at, messageId: "unreachable-1", body: down },
    );
    await expect(failed).rejects.not.toBeInstanceOf(BlobRefusedError);
    await expect(failed).rejects.toThrow();
    expect((await scenario.system.store.list()).some((l) => l.bodySha256 === sha256(down))).toBe(false);
  });

  it("an event dated more than 24 hours after its receipt is refused with the reason; 24 hours is still taken", async () => {
    const future = msg({ id: "future", time: "2025-07-03T10:00:01Z" });
    const edge = msg({ id: "edge", time: "2025-07-03T10:00:00Z" });
    await scenario.system.drain(); // what earlier tests redrove is not this test's business
    await scenario.system.send([future, edge]);
    expect(await scenario.system.drain()).toMatchObject({ stored: 1, "dead-lettered": 1 });
    expect((await letterWith(future)).reason).toBe(
      "event time 2025-07-03T10:00:01Z is more than 24 hours after the message was received (2025-07-02T10:00:00.000Z)",
    );
  });

  it("the longest identity the contract allows (source 1,024 bytes, id 256 characters) is stored once", async () => {
    const id = "i".repeat(256);
    const body = msg({ id, source: `/${"é".repeat(511)}x` });
    expect(bytes(JSON.parse(body).source)).toBe(1024);
    await scenario.system.send([body, body]);
    expect(await scenario.system.drain()).toMatchObject({
      stored: 1,
      duplicate: 1,
      "dead-lettered": 0,
      failed: 0,
    });
  });

  it("a leap second is read as the next second", async () => {
    // A stateful type (kept as a raw event, so its instant can be read back; SMS are only counted).
    await scenario.system.send([
      msg(
        { id: "leap", time: "2025-07-01T23:59:60Z", type: "viber.inbound" },
        { to: undefined, country: undefined, status: undefined, endUserId: "u1", serviceId: "svc-1" },
      ),
    ]);
    expect(await scenario.system.drain()).toMatchObject({ stored: 1 });
    const events = await scenario.system.store.usage.eventsOf("acme", Date.parse("2025-08-01T00:00:00Z"));
    expect(events.find((e) => e.id === "leap")?.t).toBe(Date.parse("2025-07-02T00:00:00Z"));
  });
});

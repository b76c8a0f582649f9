/**
 * Ingest at volume on real parts (DynamoDB Local, the SQS-compatible server, the real handler):
 * exactly once under crashes and re-delivery (a failure injected before, between and after each
 * DynamoDB request of a batch), the abort/take-over of a dead attempt, a conflicting re-delivery in
 * another period, a 10,000-event burst, a batch body at the SQS size limit and 100,000 events of one
 * product for one account (docs/data-model.md).
 */
import { type AttributeValue, GetItemCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngestHandler, IngestBatchFailedError } from "../../functions/ingest-usage/handler.js";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { DynamoBillingStore, ensureBillingTable } from "../../shared/adapters/dynamodb/billing-table.js";
import { attemptCommitItem, identityClaimItem } from "../../shared/adapters/dynamodb/items/usage.js";
import { directoryOf } from "../../shared/app/ingest-usage.js";
import { counterKey } from "../../shared/core/rating/counters.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";
import { faultyClient } from "../support/faulty-dynamodb.js";
import { configOf } from "../support/scenario.js";
import { event, messageTariffs, sms } from "../support/usage-messages.js";

const config = configOf(messageTariffs, ["acme", "globex", "burst", "mib", "big"]);
const CUTOFF = 120_000;

const record = (messageId: string, body: unknown) =>
  ({ messageId, body: typeof body === "string" ? body : JSON.stringify(body) }) as SQSRecord;

/** One batch with every path: counted and stateful events, a batch body, duplicates, a conflict, bad messages. */
const batch: SQSEvent = {
  Records: [
    record("m1", sms("s1")),
    record("m2", sms("s2")),
    record("m3", event("g1", "genai.interaction", { feature: "summary", units: 2.5 })),
    record(
      "m4",
      event("w1", "whatsapp.message", {
        endUserId: "u1",
        senderId: "wa1",
        kind: "template",
        category: "marketing",
        delivered: true,
      }),
    ),
    record("m5", [
      sms("s3", { subject: "globex" }),
      event(
        "c1",
        "voice.call",
        {
          callId: "c1",
          service: "calls",
          direction: "outbound",
          country: "US",
          answered: true,
          durationSeconds: 61,
        },
        { subject: "globex" },
      ),
      sms("s1"), // the same as m1: a duplicate inside the batch
    ]),
    record("m6", sms("s2", {}, "DE")), // same identity as m2, other content: a conflict
    record("m7", "{not json"),
    record("m8", [{ specversion: "1.0", id: "bad" }, sms("s4")]),
  ],
};

async function snapshot(store: DynamoBillingStore) {
  const out: Record<string, unknown> = {};
  for (const a of ["acme", "globex"]) {
    const c = await store.usage.countersOf(a, "2025-07");
    out[`${a} counters`] = [
      c.events,
      c.counters.map((d) => `${counterKey(d)}=${d.quantity.toFixed()}/${d.events}`).sort(),
    ];
    out[`${a} events`] = (await store.usage.statefulEventsOf(a, ["2025-07"])).map((e) => e.id).sort();
    // As the close report reads them: from the (account, period) conflict index.
    const conflicts: string[] = [];
    for await (const x of store.usage.periodConflicts(a, "2025-07")) conflicts.push(`${x.source} ${x.id}`);
    out[`${a} conflicts`] = conflicts.sort();
  }
  out.deadLetters = (await store.list()).map((d) => `${d.deadLetterId}: ${d.reason}`).sort();
  return out;
}

describe("ingest at volume", () => {
  let system: LocalBillingSystem;
  let tables = 0;
  const clock = new VirtualClock(Date.parse("2025-07-03T00:00:00Z"));
  beforeAll(async () => {
    // On a loaded machine DynamoDB Local can drop a connection ("socket hang up"): the message comes
    // back and is retried, as on AWS. These tests are about exactly-once totals, not the redrive
    // policy, so a message retried a few times must not reach the DLQ (local-stack.test.ts tests that).
    system = await startLocalBillingSystem({ clock, attemptCutoffMs: CUTOFF, maxReceiveCount: 50 });
    await system.loadConfig(config);
  });
  afterAll(async () => {
    await system?.stop();
  });

  const freshTable = async () => {
    const table = `vol-${++tables}`;
    await ensureBillingTable(system.dynamodb, table);
    return table;
  };
  /**
   * `deployed`: ingest as deployed (journals and commits only; the fold's own failures are
   * usage-fold.test.ts's); otherwise the local run's, which folds each batch at once.
   */
  const handlerOn = (client: ReturnType<typeof dynamoClient>, table: string, deployed = false) => {
    const store = new DynamoBillingStore(client, table, {
      attemptCutoffMs: CUTOFF,
      ...(deployed ? { foldInline: false } : {}),
    });
    const h = createIngestHandler({
      usage: store.usage,
      periods: store,
      deadLetters: store,
      clock,
      accounts: directoryOf(config),
    });
    return {
      store,
      // As Lambda does: a handler that throws (every record failed) returns the whole batch to the queue.
      handler: async (batch: SQSEvent) => {
        try {
          return await h(batch);
        } catch (e) {
          if (!(e instanceof IngestBatchFailedError)) throw e;
          return {
            batchItemFailures: batch.Records.map((r) => ({ itemIdentifier: r.messageId })),
            outcomes: e.outcomes,
          };
        }
      },
    };
  };

  it("a failure before, between or after any DynamoDB request, then the batch re-delivered: totals exact", async () => {
    const cleanTable = await freshTable();
    const counting = faultyClient(system.endpoints.dynamodb, { mode: "once" });
    const deployed = await handlerOn(counting.client, cleanTable, true).handler(batch);
    const requests = counting.calls.length;
    expect(deployed.batchItemFailures).toEqual([]);
    // The same batch again on a local-run handler: all duplicates, and the fold applies the journals.
    const clean = handlerOn(counting.client, await freshTable());
    const first = await clean.handler(batch);
    expect(first.batchItemFailures).toEqual([]);
    expect(first.outcomes).toEqual({ stored: 7, duplicate: 1, conflict: 1, "dead-lettered": 2, failed: 0 });
    const expected = await snapshot(clean.store);
    expect(expected["acme counters"]).toEqual([
      4,
      [
        `${counterKey({ kind: "charge", product: "genai.interaction", dimensions: { feature: "summary" }, version: "2025-01-01T00:00:00Z", reason: "" })}=2.5/1`,
        `${counterKey({ kind: "charge", product: "sms.mt", dimensions: { country: "TR" }, version: "2025-01-01T00:00:00Z", reason: "" })}=3/3`,
      ].sort(),
    ]);
    expect(expected["acme events"]).toEqual(["w1"]);
    expect(expected["globex events"]).toEqual(["c1"]);
    expect(expected["acme conflicts"]).toHaveLength(1);
    // Re-delivered after success (a crash after the last write, before SQS was told): nothing changes.
    const again = await clean.handler(batch);
    expect(again.outcomes).toMatchObject({ stored: 0, duplicate: 8, conflict: 1 });
    expect(await snapshot(clean.store)).toEqual(expected);
    expect(requests).toBeGreaterThan(5);

    for (const mode of ["once", "crash"] as const)
      for (let n = 1; n <= requests; n++) {
        const table = await freshTable();
        const faulty = faultyClient(system.endpoints.dynamodb, { mode, failAt: n });
        const r1 = await handlerOn(faulty.client, table, true).handler(batch);
        expect(faulty.fired(), `${mode} at request ${n}`).toBe(true);
        expect(
          r1.batchItemFailures.length,
          `${mode} at request ${n} (${faulty.calls[n - 1]})`,
        ).toBeGreaterThan(0);
        // A crashed invocation released nothing: its re-delivery comes after the visibility timeout,
        // by then its attempts are past the cutoff. A transient error released its own claims at once.
        if (mode === "crash") clock.advanceTo(clock.now() + CUTOFF + 1);
        const healthy = handlerOn(
          dynamoClient({ region: "us-east-1", dynamodbEndpoint: system.endpoints.dynamodb }),
          table,
        );
        const r2 = await healthy.handler(batch);
        expect(r2.batchItemFailures, `${mode} at request ${n}: re-delivery`).toEqual([]);
        expect(await snapshot(healthy.store), `${mode} at request ${n} (${faulty.calls[n - 1]})`).toEqual(
          expected,
        );
      }
  }, 600_000);

  it("a claim held by a live attempt is retried later; a dead one (older than the cutoff) is aborted and taken over", async () => {
    const table = await freshTable();
    const one: SQSEvent = { Records: [record("x1", sms("t1")), record("x2", sms("t2"))] };
    // Dies at its first journal put: claims written, no journal, no commit.
    const crashed = faultyClient(system.endpoints.dynamodb, { mode: "crash", failCommand: "PutItemCommand" });
    const r1 = await handlerOn(crashed.client, table, true).handler(one);
    expect(r1.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["x1", "x2"]);
    const ddb = dynamoClient({ region: "us-east-1", dynamodbEndpoint: system.endpoints.dynamodb });
    const claim = await ddb.send(
      new GetItemCommand({
        TableName: table,
        Key: identityClaimItem.av.key({ identity: JSON.stringify(["/gw", "t1"]) }),
      }),
    );
    const deadAttempt = claim.Item ? identityClaimItem.av.decode(claim.Item).owner : "";
    expect(deadAttempt).not.toBe("");

    // Same instant (e.g. the same events in a concurrent message): the owner may be alive, retry later.
    const healthy = handlerOn(ddb, table);
    const r2 = await healthy.handler(one);
    expect(r2.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["x1", "x2"]);
    expect((await healthy.store.usage.countersOf("acme", "2025-07")).events).toBe(0);

    clock.advanceTo(clock.now() + CUTOFF + 1);
    const r3 = await healthy.handler(one);
    expect(r3.batchItemFailures).toEqual([]);
    expect(r3.outcomes).toMatchObject({ stored: 2 });
    expect((await healthy.store.usage.countersOf("acme", "2025-07")).events).toBe(2);
    const commit = await ddb.send(
      new GetItemCommand({
        TableName: table,
        Key: attemptCommitItem.av.key({ attempt: deadAttempt }),
      }),
    );
    expect(attemptCommitItem.av.decode(commit.Item!).state).toBe("aborted");
    // The dead attempt's own commit can never succeed now (its transaction's condition).
    await expect(
      ddb.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            ...attemptCommitItem.av.key({ attempt: deadAttempt }),
            ...attemptCommitItem.av.encode({ state: "committed" }),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    ).rejects.toMatchObject({ name: "ConditionalCheckFailedException" });
    // And a later re-delivery is a duplicate.
    const r4 = await healthy.handler(one);
    expect(r4.outcomes).toMatchObject({ stored: 0, duplicate: 2 });
  });

  it("a conflicting re-delivery whose time falls in another period: first wins, the conflict is reported in the first's period", async () => {
    clock.advanceTo(Date.parse("2025-08-01T02:00:00Z")); // received after July's usage (24-hour rule)
    await system.send([JSON.stringify(sms("p1", { subject: "globex", time: "2025-07-31T23:00:00Z" }))]);
    await system.drain();
    await system.send([JSON.stringify(sms("p1", { subject: "globex", time: "2025-08-01T01:00:00Z" }))]);
    const tally = await system.drain();
    expect(tally).toMatchObject({ conflict: 1, stored: 0 });
    expect((await system.store.usage.countersOf("globex", "2025-08")).events).toBe(0);
    clock.advanceTo(Date.parse("2025-09-01T13:00:00Z"));
    const [july] = await system.close("2025-07", ["globex"]);
    const [august] = await system.close("2025-08", ["globex"]);
    expect(july?.conflicts.samples.map((c) => c.id)).toEqual(["p1"]);
    expect(july?.events).toBe(1);
    expect(august?.conflicts.count).toBe(0);
    expect(august?.events).toBe(0);
  });

  const sendEach = async (bodies: readonly string[]) => {
    for (const MessageBody of bodies)
      await system.sqs.send(new SendMessageCommand({ QueueUrl: system.queueUrls.usage, MessageBody }));
  };
  /** Nothing dead-lettered and nothing left in the DLQ; the exact totals are asserted by each test. */
  const expectEverythingStored = async (tally: { "dead-lettered": number }) => {
    expect(tally["dead-lettered"]).toBe(0);
    expect(await system.failedMessages.listAll()).toEqual([]);
  };
  const july = (i: number, n: number) =>
    new Date(Date.parse("2025-07-01T00:00:00Z") + Math.floor((i / n) * 30 * 86_400_000)).toISOString();

  it("a burst of 10,000 events: every one counted once, the close bills them exactly", async () => {
    clock.advanceTo(Date.parse("2025-08-01T02:00:00Z")); // received after July's usage (24-hour rule)
    const n = 10_000;
    const bodies = Array.from({ length: n }, (_, i) =>
      JSON.stringify(
        i % 5 === 4
          ? event(
              `burst-${i}`,
              "whatsapp.message",
              {
                endUserId: `u${i}`,
                senderId: "wa1",
                kind: "template",
                category: "marketing",
                delivered: true,
              },
              { subject: "burst", time: july(i, n) },
            )
          : sms(`burst-${i}`, { subject: "burst", time: july(i, n) }),
      ),
    );
    await system.send(bodies);
    const tally = await system.drain();
    // The totals below are the proof; retries (a busy machine) may add duplicates but never count twice.
    await expectEverythingStored(tally);
    expect((await system.store.usage.countersOf("burst", "2025-07")).events).toBe(8_000);
    expect(await system.store.usage.statefulEventsOf("burst", ["2025-07"])).toHaveLength(2_000);
    clock.advanceTo(Date.parse("2025-09-01T13:00:00Z"));
    const [report] = await system.close("2025-07", ["burst"]);
    expect(report?.events).toBe(n);
    const lines = (await system.store.linesForReference("burst", "2025-07")).map((l) => [
      l.product,
      l.quantity,
      l.amount,
    ]);
    expect(lines.sort()).toEqual([
      ["sms.mt", "8000", "96.00"],
      ["whatsapp.template", "2000", "100.00"],
    ]);
  }, 600_000);

  it("a CloudEvents batch body at the SQS size limit (1 MiB): each event stored once", async () => {
    clock.advanceTo(Date.parse("2025-08-01T02:00:00Z")); // received after July's usage (24-hour rule)
    const LIMIT = 1_048_576;
    const events: string[] = [];
    let size = 2;
    for (let i = 0; ; i++) {
      const e = JSON.stringify(sms(`mib-${i}`, { subject: "mib", time: july(i, 6000) }));
      if (size + e.length + 1 > LIMIT) break;
      events.push(e);
      size += e.length + 1;
    }
    const body = `[${events.join(",")}]`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(LIMIT - 300);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(LIMIT);
    await sendEach([body]);
    const tally = await system.drain();
    await expectEverythingStored(tally);
    expect((await system.store.usage.countersOf("mib", "2025-07")).events).toBe(events.length);
  }, 600_000);

  it("one account sends 100,000 events of one product in one period: exact total, no item grows", async () => {
    clock.advanceTo(Date.parse("2025-08-01T02:00:00Z")); // received after July's usage (24-hour rule)
    const perBody = 1_000;
    const n = 100_000;
    const bodies = Array.from({ length: n / perBody }, (_, b) =>
      JSON.stringify(
        Array.from({ length: perBody }, (_, j) => {
          const i = b * perBody + j;
          return event(
            `big-${i}`,
            "genai.interaction",
            { feature: "summary", units: 0.125 },
            { subject: "big", time: july(i, n) },
          );
        }),
      ),
    );
    await sendEach(bodies);
    // A hang guard only (DynamoDB Local takes one conditional put per event: minutes on a busy machine).
    // One body (1,000 events) per invocation: an invocation of 10,000 events can outlast the emulated
    // 30 s Lambda timeout on a busy machine and be retried again and again.
    const tally = await system.drain(undefined, { batchSize: 1, timeoutMs: 1_500_000 });
    await expectEverythingStored(tally);
    const counters = await system.store.usage.countersOf("big", "2025-07");
    expect(counters.events).toBe(n);
    expect(counters.counters.map((c) => [c.product, c.quantity.toFixed(), c.events])).toEqual([
      ["genai.interaction", "12500", n],
    ]);

    // No item grows with volume: the largest item in the whole table stays small.
    let largest = 0;
    let largestKey = "";
    let counterItems = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await system.dynamodb.send(
        new ScanCommand({ TableName: system.tableName, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const size = itemSize(item);
        if (size > largest) [largest, largestKey] = [size, `${item.pk?.S} ${item.sk?.S}`];
        if (item.pk?.S?.startsWith("CTR#big#")) counterItems += 1;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    expect(largest, largestKey).toBeLessThan(16_384);
    expect(counterItems).toBeLessThanOrEqual(2 * 16); // events total + one counter, per shard
  }, 1_800_000);
});

/** Item size as DynamoDB counts it (attribute names plus values), close enough for a bound. */
function itemSize(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, v] of Object.entries(item)) {
    size += Buffer.byteLength(name);
    if (v.S !== undefined) size += Buffer.byteLength(v.S);
    else if (v.N !== undefined) size += Math.ceil(v.N.length / 2) + 1;
    else if (v.B !== undefined) size += v.B.byteLength;
    else size += Buffer.byteLength(JSON.stringify(v));
  }
  return size;
}

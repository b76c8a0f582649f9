/**
 * Operator commands against a configured stack (the embedded local stack, named by environment
 * variables as a deployed one would be): `billing ingest` with lines the queue refuses, `billing close`
 * argument checks, `billing dead-letters list` over more than a page, `redrive --id` of only what it names.
 * Each test gets its own table and queues on the one local stack.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalBillingSystem, REGION, startLocalBillingSystem } from "../../local/billing-system.js";
import { createUsageQueues } from "../../local/queues.js";
import { DynamoBillingStore, ensureBillingTable } from "../../shared/adapters/dynamodb/billing-table.js";
import { putDeadLetter } from "../../shared/app/dead-letters.js";
import { systemClock } from "../../shared/ports/clock.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";
import { basic, billing, STACK_LINE, writeBadLinesFile } from "../support/cli.js";
import { allCloses } from "../support/table-scans.js";

let system: LocalBillingSystem;
let ddb: ReturnType<typeof dynamoClient>;

beforeAll(async () => {
  system = await startLocalBillingSystem({ clock: systemClock });
  ddb = dynamoClient({ region: REGION, dynamodbEndpoint: system.endpoints.dynamodb });
});
afterAll(async () => {
  ddb?.destroy();
  await system?.stop();
});

/** A table and a pair of queues of its own, the environment naming them, and its configuration loaded. */
async function freshStack(name: string) {
  await ensureBillingTable(ddb, name);
  const queues = await createUsageQueues(system.sqs, {
    prefix: name,
    maxReceiveCount: 3,
    visibilityTimeoutSeconds: 30,
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BILLING_TABLE: name,
    AWS_REGION: REGION,
    DYNAMODB_ENDPOINT: system.endpoints.dynamodb,
    SQS_ENDPOINT: system.endpoints.sqs,
    USAGE_QUEUE_URL: queues.usageQueueUrl,
    USAGE_DLQ_URL: queues.deadLetterQueueUrl,
  };
  const load = await billing(
    ["config", "load", "--accounts", join(basic, "accounts.json"), "--tariffs", join(basic, "tariffs.json")],
    env,
  );
  expect(load.code, load.stderr).toBe(0);
  return {
    env,
    queues,
    store: new DynamoBillingStore(ddb, name),
    run: (...args: string[]) => billing(args, env),
  };
}

async function sendTo(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const r = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(j), MessageBody })),
      }),
    );
    expect(r.Failed ?? []).toEqual([]);
    ids.push(
      ...(r.Successful ?? []).sort((a, b) => Number(a.Id) - Number(b.Id)).map((s) => s.MessageId ?? ""),
    );
  }
  return ids;
}

async function queued(sqs: SQSClient, queueUrl: string): Promise<number> {
  const r = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(r.Attributes?.ApproximateNumberOfMessages) +
    Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

const sms = (id: string) =>
  JSON.stringify({
    specversion: "1.0",
    id,
    source: "/operator-test",
    type: "sms.mt",
    subject: "acme",
    time: "2025-07-03T10:00:00Z",
    data: { to: "905321110001", country: "TR", status: "submitted" },
  });

describe("billing ingest", () => {
  it("dead-letters the lines the queue refuses with file and line, sends and drains the rest", async () => {
    const s = await freshStack("ingest");
    const file = join(await mkdtemp(join(tmpdir(), "billing-ingest-")), "events.jsonl");
    // The latest July that has ended (with a day's margin): its events are received by the CLI on
    // the real clock, and G5 refuses events more than 400 days before their receipt.
    const now = new Date(Date.now() - 24 * 3600 * 1000);
    const year = now.getUTCMonth() >= 7 ? now.getUTCFullYear() : now.getUTCFullYear() - 1;
    const layout = await writeBadLinesFile(file, year);
    const r = await s.run("ingest", file, "--drain");
    // The good lines are sent and drained; the refused ones make the command fail, summed up last.
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(
      /^billing: 3 of \d+ lines refused \(fix them and ingest those lines again; `billing dead-letters list` shows them\)$/,
    );
    expect(r.stderr).toMatch(new RegExp(`^sent ${layout.goodLines + 2} messages to `, "m"));
    expect(r.stderr).toMatch(/^refused 3 lines \(not sent, in the dead-letter store\):$/m);
    const { control, oversize, invalidUtf8 } = layout.refusedLines;
    expect(r.stderr).toContain(`  ${file} line ${control}: character U+0001`);
    expect(r.stderr).toContain(`  ${file} line ${oversize}: `);
    expect(r.stderr).toContain(`  ${file} line ${invalidUtf8}: not valid UTF-8`);
    expect(r.stderr).toMatch(/^drained: \d+ processed/m);

    const list = await s.run("dead-letters", "list");
    expect(list.code, list.stderr).toBe(0);
    const refusedRows = list.stdout.split("\n").filter((l) => l.includes("(refused line "));
    expect(refusedRows.map((l) => /\(refused line ([^)]*)\)/.exec(l)?.[1])).toEqual(
      expect.arrayContaining([`${file}:${control}`, `${file}:${oversize}`, `${file}:${invalidUtf8}`]),
    );
    expect(refusedRows).toHaveLength(3);
    // Each names its event as the sender knows it, even when the line itself is not valid JSON text.
    for (const [n, id] of [
      [control, "bad-control"],
      [oversize, "bad-oversize"],
      [invalidUtf8, "bad-utf8"],
    ] as const)
      expect(
        refusedRows
          .find((l) => l.includes(`(refused line ${file}:${n})`))
          ?.split("\t")
          .slice(1, 5),
      ).toEqual(["/example/gateway", id, "sms.mt", "acme"]);

    // The good lines, and only they, are billed: examples/basic's 225.44 EUR.
    const close = await s.run("close", "--period", `${year}-07`);
    expect(close.code, close.stderr).toBe(0);
    expect(close.stdout).toMatch(new RegExp(`^acme ${year}-07 closed: 12 lines, 225\\.44 EUR$`, "m"));

    // A refused line cannot be redriven as it is: it stays, and the operator is told why.
    const id = refusedRows[0]?.split("\t")[0] ?? "";
    const redrive = await s.run("dead-letters", "redrive", "--id", id);
    expect(redrive.code).toBe(1);
    expect(redrive.stderr).toContain(`kept ${id}: the usage queue refused this line`);
    expect((await s.store.list()).some((l) => l.deadLetterId === id)).toBe(true);
  }, 300_000);
});

describe("billing dead-letters list names each event as its sender knows it", () => {
  it("shows source, id, type and subject of every letter and DLQ message; --source keeps one sender's", async () => {
    const s = await freshStack("senders");
    const file = join(await mkdtemp(join(tmpdir(), "billing-senders-")), "events.jsonl");
    const event = (id: string, source: string, subject: string) =>
      JSON.parse(
        sms(id)
          .replace('"/operator-test"', JSON.stringify(source))
          .replace('"acme"', JSON.stringify(subject)),
      ) as Record<string, unknown>;
    await writeFile(
      file,
      [
        JSON.stringify(event("ok-1", "/team-a", "acme")),
        // Dead-lettered by the ingest handler: an account nobody configured.
        JSON.stringify(event("a-unknown", "/team-a", "nobody")),
        // Inside a batch body: its letter names the element's event, not the message.
        JSON.stringify([event("ok-2", "/team-b", "acme"), event("b-unknown", "/team-b", "nobody")]),
      ].join("\n"),
    );
    const r = await s.run("ingest", file, "--drain");
    expect(r.code, r.stderr).toBe(0);
    // A processing failure's letter carries no subject (it is filed under no account), but names its event.
    await putDeadLetter(
      { deadLetters: s.store },
      {
        messageId: "m-failed",
        receivedAt: Date.UTC(2025, 6, 4),
        reason: "processing failed (not retried): ValidationException",
        body: JSON.stringify(event("c-failed", "/team-c", "acme")),
      },
    );
    // A batch message in the SQS DLQ: each column lists its events' values.
    const [dlqId] = await sendTo(system.sqs, s.queues.deadLetterQueueUrl, [
      JSON.stringify([event("c-dlq-1", "/team-c", "acme"), event("c-dlq-2", "/team-c", "acme")]),
    ]);

    const all = await s.run("dead-letters", "list");
    expect(all.code, all.stderr).toBe(0);
    const rows = all.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    const byEvent = (id: string) => rows.find((c) => c[2] === id)?.slice(1, 5);
    expect(byEvent("a-unknown")).toEqual(["/team-a", "a-unknown", "sms.mt", "nobody"]);
    expect(byEvent("b-unknown")).toEqual(["/team-b", "b-unknown", "sms.mt", "nobody"]);
    expect(byEvent("c-failed")).toEqual(["/team-c", "c-failed", "sms.mt", "acme"]);
    expect(rows.find((c) => c[0] === dlqId)?.slice(1)).toEqual([
      "/team-c",
      "c-dlq-1,c-dlq-2",
      "sms.mt",
      "acme",
      expect.stringMatching(/^\(dlq, \d+ receives\)$/),
    ]);

    const teamC = await s.run("dead-letters", "list", "--source", "/team-c");
    expect(teamC.code, teamC.stderr).toBe(0);
    expect(
      teamC.stdout
        .trim()
        .split("\n")
        .map((l) => l.split("\t")[2]),
    ).toEqual(["c-failed", "c-dlq-1,c-dlq-2"]);
    expect(teamC.stderr).toMatch(
      /^1 invalid messages, 1 in the dead-letter queue, 0 late conflicts from source "\/team-c"$/m,
    );
    const none = await s.run("dead-letters", "list", "--source", "/nobody");
    expect(none.stdout).toBe("");
  }, 300_000);
});

describe("billing close", () => {
  const thisMonth = new Date().toISOString().slice(0, 7);

  it("refuses a period that does not exist, before writing anything", async () => {
    const s = await freshStack("close13");
    const r = await s.run("close", "--period", "2025-13");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^billing: --period must be YYYY-MM with a month from 01 to 12, not "2025-13"$/m,
    );
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(await allCloses(s.store)).toEqual([]);
  }, 120_000);

  it("refuses the current and a future month unless --force, and unknown accounts", async () => {
    const s = await freshStack("closeopen");
    for (const period of [thisMonth, "2099-01"]) {
      const r = await s.run("close", "--period", period);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(
        new RegExp(`^billing: period ${period} is not over yet for acme \\(UTC: ends `, "m"),
      );
      expect(r.stderr).toContain("--force closes it anyway");
      expect(r.stderr).not.toMatch(STACK_LINE);
    }
    const unknown = await s.run("close", "--period", "2025-07", "--account", "acme", "--account", "nobody");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^billing: unknown account "nobody"$/m);
    expect(await allCloses(s.store)).toEqual([]);

    const forced = await s.run("close", "--period", thisMonth, "--force");
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(new RegExp(`^acme ${thisMonth} closed: `, "m"));
    expect((await allCloses(s.store)).map((c) => [c.period, c.status])).toEqual([[thisMonth, "closed"]]);
  }, 120_000);
});

describe("billing dead-letters", () => {
  it("lists every letter and every DLQ message, however many (1,097 of each)", async () => {
    const s = await freshStack("many");
    const n = 1_097;
    // About 1 KB each: more than DynamoDB's 1 MB page, so the store is read in several pages.
    const padding = "p".repeat(1_000);
    const letters = Array.from({ length: n }, (_, i) => ({
      deadLetterId: `letter-${String(i).padStart(4, "0")}`,
      messageId: `letter-${i}`,
      receivedAt: Date.UTC(2025, 6, 1) + i,
      reason: "invalid CloudEvents envelope",
      body: `{"n":${i},"padding":"${padding}"}`,
      excerpt: `{"n":${i},"padding":"${padding}"}`,
      bodyBytes: 0,
      bodySha256: "",
    }));
    for (let i = 0; i < n; i += 50) await Promise.all(letters.slice(i, i + 50).map((l) => s.store.put(l)));
    const dlqIds = await sendTo(
      system.sqs,
      s.queues.deadLetterQueueUrl,
      Array.from({ length: n }, (_, i) => `failed-${i}`),
    );

    for (let round = 0; round < 2; round++) {
      // Listing hides nothing for good: a second listing sees the same.
      const r = await s.run("dead-letters", "list");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        new RegExp(`^${n} invalid messages, ${n} in the dead-letter queue, 0 late conflicts$`, "m"),
      );
      const ids = r.stdout
        .trim()
        .split("\n")
        .map((l) => l.split("\t")[0]);
      expect(new Set(ids)).toEqual(new Set([...letters.map((l) => l.deadLetterId), ...dlqIds]));
      // Spread over the store's 64 partitions, listed oldest first all the same (one per millisecond).
      expect(ids.slice(0, n)).toEqual(letters.map((l) => l.deadLetterId));
    }
    expect(await queued(system.sqs, s.queues.deadLetterQueueUrl)).toBe(n);
  }, 300_000);

  it("redrives only the letters and DLQ messages named by --id; an unknown id redrives nothing", async () => {
    const s = await freshStack("redrive");
    for (let i = 0; i < 3; i++)
      await s.store.put({
        deadLetterId: `stored-${i}`,
        messageId: `stored-${i}`,
        receivedAt: Date.UTC(2025, 6, 1),
        reason: `unknown account "later" (subject)`,
        body: sms(`stored-${i}`),
        excerpt: sms(`stored-${i}`),
        bodyBytes: 0,
        bodySha256: "",
      });
    const dlqIds = await sendTo(system.sqs, s.queues.deadLetterQueueUrl, [
      sms("dlq-0"),
      sms("dlq-1"),
      sms("dlq-2"),
    ]);

    const unknown = await s.run("dead-letters", "redrive", "--id", "stored-1", "--id", "no-such-id");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^billing: no dead letter with id no-such-id/m);
    expect((await s.store.list()).map((l) => l.deadLetterId)).toEqual(["stored-0", "stored-1", "stored-2"]);
    expect(await queued(system.sqs, s.queues.deadLetterQueueUrl)).toBe(3);
    expect(await queued(system.sqs, s.queues.usageQueueUrl)).toBe(0);

    const r = await s.run("dead-letters", "redrive", "--id", "stored-1", "--id", dlqIds[2] ?? "");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^redriven: 1 from the dead-letter store, 1 from the dead-letter queue$/m);
    expect((await s.store.list()).map((l) => l.deadLetterId)).toEqual(["stored-0", "stored-2"]);
    expect(await queued(system.sqs, s.queues.deadLetterQueueUrl)).toBe(2);
    const moved = await system.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: s.queues.usageQueueUrl, MaxNumberOfMessages: 10 }),
    );
    expect((moved.Messages ?? []).map((m) => JSON.parse(m.Body ?? "{}").id).sort()).toEqual([
      "dlq-2",
      "stored-1",
    ]);
  }, 120_000);
});

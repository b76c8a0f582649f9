/**
 * A close report of any size (issue 9 item 4), on DynamoDB Local: 10,000 conflicts in one
 * period and 600 rejected messages of one account. The report holds counts and the first 20 of
 * each list; the whole lists are stored in chunks beside the close record and read back complete;
 * no item comes near 400 KB; the export writes the full lists as JSON lines. A redo after a crashed
 * close leaves exactly its own chunks. Storage is populated through the stores' own batch paths
 * (the usage store's `ingest` of 1,000 events per call, as one Lambda batch), not 20,000 SQS messages.
 */
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPORT_LISTS_FILE, writeExports } from "../../cli/exports.js";
import { type DynamoDbLocal, startDynamoDbLocal } from "../../local/dynamodb-local.js";
import { DynamoBillingStore, ensureBillingTable } from "../../shared/adapters/dynamodb/billing-table.js";
import { closeRecordItem } from "../../shared/adapters/dynamodb/items/closes.js";
import {
  chunkOfSk,
  reportChunkItem,
  reportChunksPk,
} from "../../shared/adapters/dynamodb/items/report-chunks.js";
import { CLOSE_LEASE_MS, type CloseDeps, closePeriod } from "../../shared/app/close-period.js";
import {
  CHUNK_ENTRIES,
  CHUNK_JSON_BYTES,
  REPORT_SAMPLES,
  readReportList,
} from "../../shared/app/close-report.js";
import { putDeadLetter } from "../../shared/app/dead-letters.js";
import { foldAccounts } from "../../shared/app/fold-usage.js";
import { type AccountCloseReport, isCloseReport } from "../../shared/core/close-report.js";
import { mapLimit } from "../../shared/core/map-limit.js";
import { contributionOf } from "../../shared/core/rating/counters.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import type { PreparedEvent } from "../../shared/ports/usage-store.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";
import { configOf, stdTariffs } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.01" }]);
const config = configOf(tariffs, [
  { accountId: "acme", name: "Acme" },
  { accountId: "globex", name: "Globex" },
]);
const CONFLICTS = 10_000;
const LETTERS = 600;
const at = (iso: string) => Date.parse(iso);

/** The n-th July SMS of acme; `version` changes its content (same identity: a conflict). */
function sms(n: number, version: string): PreparedEvent {
  const time = new Date(at("2025-07-01T00:00:00Z") + n * 60_000).toISOString();
  const event = {
    specversion: "1.0",
    id: `sms-${n}`,
    source: "/gw/eu-1",
    type: "sms.mt",
    subject: "acme",
    time,
    t: at(time),
    data: { to: `+90555${version}${n}`, country: "TR", status: "submitted" },
  } as unknown as LedgerEvent;
  const [account] = config.accounts;
  return {
    event,
    hash: `${version}-${n}`,
    accountId: "acme",
    contribution: contributionOf(account!, tariffs[0]!, event),
    body: JSON.stringify(event),
  };
}

describe("a close report of any size", () => {
  let dynamo: DynamoDbLocal;
  let ddb: DynamoDBClient;
  let store: DynamoBillingStore;
  let deps: CloseDeps;
  let report: AccountCloseReport;
  const table = "report-volume";
  const clock = new VirtualClock(at("2025-07-20T00:00:00Z"));
  const reason = (i: number) => `invalid data for sms.mt: data.country: ${"x".repeat(1_900)} #${i}`;

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    ddb = dynamoClient({ region: "us-east-1", dynamodbEndpoint: dynamo.endpoint });
    await ensureBillingTable(ddb, table);
    store = new DynamoBillingStore(ddb, table, { claimConcurrency: 4 });
    await store.saveConfig(config);
    deps = { usage: store.usage, periods: store, deadLetters: store, clock, config: async () => config };
    // 10,000 events, then a differently-dated conflicting version of each: 1,000 per ingest call.
    for (const version of ["a", "b"])
      for (let from = 0; from < CONFLICTS; from += 1_000) {
        const outcomes = await store.usage.ingest(
          Array.from({ length: 1_000 }, (_, i) => sms(from + i, version)),
          clock.now(),
        );
        expect(new Set(outcomes.map((o) => o.kind))).toEqual(
          new Set([version === "a" ? "stored" : "conflict"]),
        );
      }
    // Stored through the store itself (not ingestBatch, which folds as the local run does): fold.
    await foldAccounts(["acme"], { journal: store.usage.journal, periods: store, clock });
    // Rejected messages naming acme: 600 received in July (long reasons), 3 in August; 5 of globex.
    const letter = (id: string, subject: string, receivedAt: number, why: string) =>
      putDeadLetter(
        { deadLetters: store },
        { messageId: id, receivedAt, reason: why, body: `{"id":"${id}"}`, subject },
      );
    await mapLimit(
      Array.from({ length: LETTERS }, (_, i) => i),
      8,
      (i) => letter(`m-${i}`, "acme", at("2025-07-10T00:00:00Z") + i * 1_000, reason(i)),
    );
    for (let i = 0; i < 3; i++) await letter(`aug-${i}`, "acme", at("2025-08-02T00:00:00Z") + i, "august");
    for (let i = 0; i < 5; i++) await letter(`g-${i}`, "globex", at("2025-07-05T00:00:00Z") + i, "globex's");
    // A re-delivery of a letter replaces it (and its index entry): still one letter, received later.
    await letter("m-0", "acme", at("2025-07-10T00:00:00Z") + 500, reason(0));
  });
  afterAll(async () => {
    ddb?.destroy();
    await dynamo?.stop();
  });

  it("10,000 conflicts and 600 rejected messages: counts and 20 samples in the report, the whole lists stored in chunks", async () => {
    clock.advanceTo(at("2025-08-01T01:00:00Z"));
    const outcomes = await closePeriod("2025-07", deps);
    const [acme, globex] = outcomes.filter(isCloseReport);
    report = acme!;
    expect(report.status).toBe("closed");
    expect(report.events).toBe(CONFLICTS); // conflicts count nowhere (G5: the first wins)
    expect(report.totals.amount).toBe("100.00");

    expect(report.conflicts.count).toBe(CONFLICTS);
    expect(report.conflicts.samples).toHaveLength(REPORT_SAMPLES);
    expect(report.conflicts.chunks).toBe(CONFLICTS / CHUNK_ENTRIES);
    const conflicts = [];
    for await (const c of readReportList(store, "acme", "2025-07", report.conflicts)) conflicts.push(c);
    expect(conflicts).toHaveLength(CONFLICTS);
    expect(new Set(conflicts.map((c) => c.id))).toEqual(
      new Set(Array.from({ length: CONFLICTS }, (_, i) => `sms-${i}`)),
    );
    expect(conflicts.slice(0, REPORT_SAMPLES)).toEqual(report.conflicts.samples);

    expect(report.rejectedMessages.count).toBe(LETTERS);
    expect(report.rejectedMessages.samples).toHaveLength(REPORT_SAMPLES);
    const rejected = [];
    for await (const r of readReportList(store, "acme", "2025-07", report.rejectedMessages)) rejected.push(r);
    expect(rejected.map((r) => r.deadLetterId)).toEqual(Array.from({ length: LETTERS }, (_, i) => `m-${i}`));
    expect(rejected.every((r, i) => r.reason === reason(i))).toBe(true);
    // Chunks are cut by size too: ≈ 2 KB reasons, ≤ 100 KB of JSON per chunk.
    expect(report.rejectedMessages.chunks).toBeGreaterThanOrEqual(
      Math.ceil((LETTERS * 1_900) / CHUNK_JSON_BYTES),
    );

    // A short list is complete in its samples; nothing is stored for it.
    expect(globex).toMatchObject({
      conflicts: { count: 0, samples: [], chunks: 0, where: null },
      rejectedMessages: { count: 5, chunks: 0, where: null },
      suspense: { count: 0, events: 0, chunks: 0 },
    });
    expect(globex!.rejectedMessages.samples.map((r) => r.reason)).toEqual(Array(5).fill("globex's"));
  });

  it("no item approaches 400 KB: the close record and every chunk are bounded", async () => {
    const doc = DynamoDBDocumentClient.from(ddb);
    // The report chunks of July, read straight from their partitions (no scan of the usage).
    const chunks: { accountId: string; sk: string; entries: number; deflated: Uint8Array }[] = [];
    for (const account of ["acme", "globex"]) {
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const r = await doc.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": reportChunksPk(account, "2025-07") },
            ExclusiveStartKey,
          }),
        );
        for (const i of r.Items ?? [])
          chunks.push({ accountId: account, sk: String(i.sk), ...reportChunkItem.decode(i) });
        ExclusiveStartKey = r.LastEvaluatedKey;
      } while (ExclusiveStartKey);
    }
    expect(chunks).toHaveLength(report.conflicts.chunks + report.rejectedMessages.chunks);
    for (const i of chunks) {
      expect(i.entries).toBeLessThanOrEqual(CHUNK_ENTRIES);
      expect(i.deflated.length).toBeLessThan(CHUNK_JSON_BYTES);
      const { list, chunk } = chunkOfSk(i.sk);
      const entries = await store.readReportChunk(i.accountId, "2025-07", list, chunk);
      expect(Buffer.byteLength(JSON.stringify(entries))).toBeLessThanOrEqual(CHUNK_JSON_BYTES);
    }
    // The close record holds the report with its samples only.
    const close = await doc.send(
      new GetCommand({
        TableName: table,
        Key: closeRecordItem.key({ accountId: "acme", period: "2025-07" }),
      }),
    );
    expect(Buffer.byteLength(JSON.stringify(closeRecordItem.decode(close.Item!).report))).toBeLessThan(
      100_000,
    );
  });

  it("closing again changes nothing; the export holds counts and samples, and the full lists as JSON lines", async () => {
    const [again] = await closePeriod("2025-07", deps, { accountIds: ["acme"] });
    expect(again).toEqual({ ...report, status: "already-closed" });
    const out = join(tmpdir(), `report-volume-${process.pid}`);
    await writeExports(out, {
      lines: [],
      reports: [report],
      deadLetters: [],
      marketplaceUsage: [],
      reportLists: store,
    });
    const json = JSON.parse(await readFile(join(out, "close-report.json"), "utf8")) as {
      reports: AccountCloseReport[];
    };
    expect(json.reports[0]?.conflicts.count).toBe(CONFLICTS);
    expect(json.reports[0]?.conflicts.samples).toHaveLength(REPORT_SAMPLES);
    const lines = (await readFile(join(out, REPORT_LISTS_FILE), "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { accountId: string; period: string; list: string });
    const byList = new Map<string, number>();
    for (const l of lines) byList.set(l.list, (byList.get(l.list) ?? 0) + 1);
    expect(Object.fromEntries(byList)).toEqual({ conflicts: CONFLICTS, rejectedMessages: LETTERS });
  });

  it("a redo after a crashed close removes the chunks the crashed attempt wrote and the redo does not", async () => {
    // A crashed run claimed globex's August and wrote a long conflicts list; it never finished.
    const crashed = "crashed-run";
    const now = clock.now();
    await store.claimClose(
      "globex",
      "2025-08",
      { owner: crashed, startedAt: now, leaseUntil: now + CLOSE_LEASE_MS },
      now,
    );
    const stale = Array.from({ length: 3 }, (_, chunk) => ({
      list: "conflicts",
      chunk,
      entries: [{ id: "gone" }],
    }));
    expect(await store.writeReportChunks("globex", "2025-08", crashed, stale)).toBe(true);
    // Another run cannot write under that claim.
    expect(await store.writeReportChunks("globex", "2025-08", "someone-else", stale)).toBe(false);
    clock.advanceTo(now + CLOSE_LEASE_MS + 1);
    const [redo] = await closePeriod("2025-08", deps, { accountIds: ["globex"] });
    expect(redo).toMatchObject({ status: "closed", conflicts: { count: 0, chunks: 0 } });
    for (let i = 0; i < 3; i++)
      expect(await store.readReportChunk("globex", "2025-08", "conflicts", i)).toBeUndefined();
    // The crashed run, were it still alive, can write nothing more.
    expect(await store.writeReportChunks("globex", "2025-08", crashed, stale)).toBe(false);
  });

  it("a redriven (removed) letter leaves the account's index: the next report no longer lists it", async () => {
    await store.remove("aug-0");
    const letters = [];
    for await (const l of store.accountLetters("acme", {
      from: at("2025-08-01T00:00:00Z"),
      until: at("2025-09-01T00:00:00Z"),
    }))
      letters.push(l.deadLetterId);
    expect(letters).toEqual(["aug-1", "aug-2"]);
  });
});

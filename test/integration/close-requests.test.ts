/**
 * What a close reads and writes at volume, on DynamoDB Local: the usage markers name the
 * shards ingest wrote, and a close reads only those (a marker without shard lists makes it read
 * every shard, with the same result); a closed period is flagged on its marker, so later closes list
 * only periods never closed without reading the records of closed ones; a close's writes go 99 to a
 * transaction, and a crash between two of them is redone after the lease with each line once.
 * A counters-only account's close neither reads nor writes a snapshot, reads conflicts only
 * where its marker says some were recorded, and the close worker reads a tariff once per revision.
 */
import { UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import type { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { cachedAccountDirectory } from "../../shared/adapters/dynamodb/config-store.js";
import { accountItem } from "../../shared/adapters/dynamodb/items/config.js";
import { usageMarkerItem } from "../../shared/adapters/dynamodb/items/usage-period.js";
import { USAGE_SHARDS } from "../../shared/adapters/dynamodb/usage-store.js";
import { CLOSE_LEASE_MS, closePeriod } from "../../shared/app/close-period.js";
import { ingestUsageMessage } from "../../shared/app/ingest-usage.js";
import { isCloseReport } from "../../shared/core/close-report.js";
import { type Clock, VirtualClock } from "../../shared/ports/clock.js";
import { type RatedAccount, shardsOf } from "../../shared/ports/usage-store.js";
import { closeAndIngestDeps } from "../support/close-store.js";
import { stdTariffs } from "../support/events.js";
import { configOf, useDynamoDbLocal } from "../support/scenario.js";
import { allLines } from "../support/table-scans.js";

/** 120 two-letter country codes: one invoice line each, more than one transaction of lines. */
const COUNTRIES = Array.from(
  { length: 120 },
  (_, i) => `${"ABCDE"[Math.floor(i / 26)]}${"ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i % 26]}`,
);
const tariffs = stdTariffs([
  ...COUNTRIES.map((country) => ({ product: "sms.mt", match: { country }, unitPrice: "0.01" })),
  { product: "messenger.active_user", unitPrice: "0.10" },
]);
const config = configOf(tariffs, [
  { accountId: "acme", name: "Acme" },
  { accountId: "wide", name: "Wide" },
]);
const event = (id: string, subject: string, time: string, type: string, data: Record<string, unknown>) =>
  JSON.stringify({ specversion: "1.0", id, source: "/gw", type, subject, time, data });
const sms = (id: string, subject: string, time: string, country = "AA") =>
  event(id, subject, time, "sms.mt", { to: id, country, status: "submitted" });
/** One message holding several events (a JSON array of CloudEvents). */
const batch = (bodies: readonly string[]) => `[${bodies.join(",")}]`;
const messenger = (id: string, subject: string, time: string, user: string) =>
  event(id, subject, time, "messenger.message", { endUserId: user, delivered: true });

/** Two counted and two stateful July events of acme, in one message. */
const JULY = batch([
  sms("s1", "acme", "2025-07-02T09:00:00Z"),
  sms("s2", "acme", "2025-07-03T09:00:00Z", "AB"),
  messenger("m1", "acme", "2025-07-04T09:00:00Z", "u1"),
  messenger("m2", "acme", "2025-07-05T09:00:00Z", "u2"),
]);

describe("a close reads the shards its markers name and writes lines in few transactions", () => {
  const dynamo = useDynamoDbLocal();

  /** A table on its own client; `calls` lists every request's command; `crashOnLinesTransaction` fails the Nth TransactWriteItems and all later requests. */
  async function freshTable(clock: Clock) {
    const c = dynamo.newClient();
    const calls: string[] = [];
    const fault = { transactionToFail: 0, transactions: 0, crashed: false };
    c.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? "?";
        calls.push(command);
        if (command === "TransactWriteItemsCommand" && ++fault.transactions === fault.transactionToFail)
          fault.crashed = true;
        if (fault.crashed) throw new Error(`injected crash at ${command}`);
        return next(args);
      },
      { step: "initialize", name: "closeRequestsProbe" },
    );
    const { name: table, store } = await dynamo.table("requests", c);
    await store.saveConfig(config);
    const deps = closeAndIngestDeps(store, clock, config);
    let n = 0;
    const ingest = async (...bodies: string[]) => {
      for (const b of bodies) await ingestUsageMessage(b, `m${++n}`, deps);
    };
    return { table, client: c, store, deps, calls, fault, ingest };
  }

  it("reads only the recorded shards; a marker without shard lists reads all, with the same lines", async () => {
    const clock = new VirtualClock(Date.parse("2025-08-01T02:00:00Z"));
    const t = await freshTable(clock);
    await t.ingest(JULY);
    const [july] = await t.store.usage.usageMarkers("acme");
    // One batch, one attempt: one counter shard and one page shard.
    expect(july).toMatchObject({ period: "2025-07" });
    expect(july?.counterShards).toHaveLength(1);
    expect(july?.pageShards).toHaveLength(1);
    const where = shardsOf([july!]);

    const queries = async (read: () => Promise<unknown>) => {
      const from = t.calls.length;
      const out = await read();
      return { out, queries: t.calls.slice(from).filter((c) => c === "QueryCommand").length };
    };
    const recorded = await queries(() => t.store.usage.statefulEventsOf("acme", ["2025-07"], where));
    const every = await queries(() => t.store.usage.statefulEventsOf("acme", ["2025-07"]));
    expect(recorded.queries).toBe(1);
    expect(every.queries).toBe(USAGE_SHARDS);
    expect(recorded.out).toEqual(every.out);
    const counters = await queries(() => t.store.usage.countersOf("acme", "2025-07", where));
    expect(counters.queries).toBe(1);
    expect(counters.out).toEqual(await t.store.usage.countersOf("acme", "2025-07"));

    // The whole close reads: markers, late markers, the snapshot (none: built from July's one page
    // shard), July's page shard (once: the rebuilt snapshot and the rating share it) and counter
    // shard, rejected messages (no conflicts: the marker says none). Nothing else (the claim
    // reads nothing when fresh; account and tariff come from the configuration here).
    const from = t.calls.length;
    const [report] = await closePeriod("2025-07", t.deps, { accountIds: ["acme"] });
    const reads = t.calls.slice(from).filter((c) => /^(Query|GetItem|BatchGetItem|Scan)Command$/.test(c));
    expect(reads).toHaveLength(6);
    expect(report && isCloseReport(report) ? report.totals.amount : undefined).toBe("0.22"); // 2 × 0.01 + 2 × 0.10

    // The same usage under a marker written without shard lists: every shard is read, same result.
    const legacy = await freshTable(clock);
    await legacy.ingest(JULY);
    await legacy.client.send(
      new UpdateItemCommand({
        TableName: legacy.table,
        Key: usageMarkerItem.av.key({ accountId: "acme", period: "2025-07" }),
        UpdateExpression: "REMOVE #counterShards, #pageShards, #tracksConflicts",
        ExpressionAttributeNames: usageMarkerItem.names("counterShards", "pageShards", "tracksConflicts"),
      }),
    );
    expect(await legacy.store.usage.usageMarkers("acme")).toEqual([{ period: "2025-07" }]);
    const fromLegacy = legacy.calls.length;
    const [again] = await closePeriod("2025-07", legacy.deps, { accountIds: ["acme"] });
    expect(legacy.calls.slice(fromLegacy).filter((c) => c === "QueryCommand").length).toBeGreaterThanOrEqual(
      2 * USAGE_SHARDS,
    );
    const linesOf = async (s: DynamoBillingStore) =>
      (await allLines(s)).map((l) => `${l.line_id} ${l.amount}`).sort();
    expect(await linesOf(legacy.store)).toEqual(await linesOf(t.store));
    expect(again && isCloseReport(again) ? again.totals.amount : undefined).toBe("0.22");
  });

  it("closed periods are flagged on their markers; a period never closed is still reported", async () => {
    const clock = new VirtualClock(Date.parse("2025-09-01T02:00:00Z"));
    const t = await freshTable(clock);
    await t.ingest(
      sms("jun", "acme", "2025-06-10T09:00:00Z"),
      sms("jul", "acme", "2025-07-10T09:00:00Z"),
      sms("aug", "acme", "2025-08-10T09:00:00Z"),
    );
    await closePeriod("2025-07", t.deps, { accountIds: ["acme"] });
    expect((await t.store.usage.usageMarkers("acme")).map((m) => `${m.period} ${m.closed === true}`)).toEqual(
      ["2025-06 false", "2025-07 true", "2025-08 false"],
    );
    const from = t.calls.length;
    const [august] = await closePeriod("2025-08", t.deps, { accountIds: ["acme"] });
    // June (never closed) is read and listed; July's record is not read: its marker says closed.
    expect(august && isCloseReport(august) ? august.unclosedEarlierPeriods : undefined).toEqual([
      { period: "2025-06", events: 1 },
    ]);
    expect(t.calls.slice(from).filter((c) => c === "GetItemCommand")).toHaveLength(1); // June's record
  });

  it("a counters-only account's close neither reads nor writes a snapshot; its first stateful events still rate", async () => {
    const clock = new VirtualClock(Date.parse("2025-09-01T02:00:00Z"));
    const t = await freshTable(clock);
    await t.ingest(sms("j1", "wide", "2025-07-10T09:00:00Z"));
    const from = t.calls.length;
    await closePeriod("2025-07", t.deps, { accountIds: ["wide"] });
    // Markers, late markers, the counter shard, rejected messages: no snapshot Query, and no conflicts
    // Query (the marker tracks conflicts and has none).
    expect(t.calls.slice(from).filter((c) => c === "QueryCommand")).toHaveLength(4);
    // The claim only: no snapshot PutItem.
    expect(t.calls.slice(from).filter((c) => c === "PutItemCommand")).toHaveLength(1);
    expect(await t.store.usage.snapshotAt("wide", "2025-08")).toBeUndefined();

    // August brings stateful events: the snapshot at its start is derived (empty), the close rates them
    // and writes September's snapshot, which carries nothing open (a messenger user is per month).
    await t.ingest(
      batch([
        sms("a1", "wide", "2025-08-10T09:00:00Z"),
        messenger("am1", "wide", "2025-08-11T09:00:00Z", "u1"),
        messenger("am2", "wide", "2025-08-12T09:00:00Z", "u2"),
      ]),
    );
    const [august] = await closePeriod("2025-08", t.deps, { accountIds: ["wide"] });
    expect(august && isCloseReport(august) ? august.totals.amount : undefined).toBe("0.21"); // 0.01 + 2 × 0.10
    expect(await t.store.usage.snapshotAt("wide", "2025-09")).toMatchObject({
      period: "2025-09",
      events: [],
    });
  });

  it("a conflict flags its period's marker: that close reads the conflicts and reports them", async () => {
    const clock = new VirtualClock(Date.parse("2025-08-01T02:00:00Z"));
    const t = await freshTable(clock);
    await t.ingest(sms("c1", "wide", "2025-07-10T09:00:00Z"), sms("c2", "wide", "2025-07-11T09:00:00Z"));
    expect((await t.store.usage.usageMarkers("wide"))[0]?.noConflicts).toBe(true);
    // The same identity with another body: a conflict (G5), recorded for July.
    await t.ingest(sms("c1", "wide", "2025-07-10T09:00:00Z", "AB"));
    const [marker] = await t.store.usage.usageMarkers("wide");
    expect(marker?.noConflicts).toBeUndefined();
    const from = t.calls.length;
    const [july] = await closePeriod("2025-07", t.deps, { accountIds: ["wide"] });
    // Markers, late markers, each counter shard, rejected messages, and now the conflicts.
    expect(t.calls.slice(from).filter((c) => c === "QueryCommand")).toHaveLength(
      3 + (marker?.counterShards?.length ?? 0) + 1,
    );
    expect(july && isCloseReport(july) ? july.conflicts : undefined).toMatchObject({
      count: 1,
      samples: [{ source: "/gw", id: "c1" }],
    });
  });

  it("the close worker's account lookups read each tariff revision once, and a changed tariff at once", async () => {
    const clock = new VirtualClock(Date.parse("2025-08-01T02:00:00Z"));
    const t = await freshTable(clock);
    // The close worker's directory: nothing cached by time (ttl 0).
    const directory = cachedAccountDirectory(t.store.configs, clock, 0);
    const gets = async (lookup: () => Promise<unknown>) => {
      const from = t.calls.length;
      const out = await lookup();
      return { out, gets: t.calls.slice(from).filter((c) => c === "GetItemCommand").length };
    };
    expect((await gets(() => directory.lookup("acme"))).gets).toBe(2); // the account, its tariff
    expect((await gets(() => directory.lookup("wide"))).gets).toBe(1); // the account only
    expect((await gets(() => directory.lookup("acme"))).gets).toBe(1);

    // A new price: the accounts name the new revision, the next lookup reads it.
    const [std] = config.tariffs;
    const raised = {
      ...std!,
      versions: std!.versions.map((v) => ({
        ...v,
        rates: v.rates.map((r) => ({ ...r, unitPrice: "0.02" })),
      })),
    };
    await t.store.saveConfig({ ...config, tariffs: [raised] });
    const after = await gets(() => directory.lookup("wide"));
    expect(after.gets).toBe(2);
    expect((after.out as RatedAccount).tariff).toEqual(raised);

    // An account item saved before tariff revisions were recorded names none: its tariff is read on
    // every lookup.
    await t.client.send(
      new UpdateItemCommand({
        TableName: t.table,
        Key: accountItem.av.key({ accountId: "acme" }),
        UpdateExpression: "REMOVE #tariffRev",
        ExpressionAttributeNames: accountItem.names("tariffRev"),
      }),
    );
    expect((await gets(() => directory.lookup("acme"))).gets).toBe(2);
    expect((await gets(() => directory.lookup("acme"))).gets).toBe(2);
  });

  it("a crash between two transactions of a close's writes: the redo after the lease writes each line and explanation once", async () => {
    const clock = new VirtualClock(Date.parse("2025-08-01T02:00:00Z"));
    const t = await freshTable(clock);
    const deps = { ...t.deps, explanations: t.store };
    await t.ingest(
      batch(COUNTRIES.map((country, i) => sms(`w${i}`, "wide", "2025-07-02T09:00:00Z", country))),
    );
    const explained = async (lines: readonly { line_id: string }[]) =>
      (await Promise.all(lines.map((l) => t.store.explanation(l.line_id)))).filter((x) => x !== undefined)
        .length;
    // 120 lines in two chunk items, the marker's flag and 120 explanations: 99 writes, then 24.
    t.fault.transactionToFail = t.fault.transactions + 2;
    await expect(closePeriod("2025-07", deps, { accountIds: ["wide"] })).rejects.toThrow(/injected crash/);
    t.fault.crashed = false;
    t.fault.transactionToFail = 0;
    const crashed = (await allLines(t.store)).filter((l) => l.period === "2025-07");
    expect(crashed).toHaveLength(COUNTRIES.length);
    expect(await explained(crashed)).toBe(96);
    expect((await t.store.getClose("wide", "2025-07"))?.status).toBe("closing");

    clock.advanceTo(clock.now() + CLOSE_LEASE_MS + 1);
    const [report] = await closePeriod("2025-07", deps, { accountIds: ["wide"] });
    expect(report?.status).toBe("closed");
    const lines = (await allLines(t.store)).filter((l) => l.period === "2025-07");
    expect(lines).toHaveLength(COUNTRIES.length);
    expect(new Set(lines.map((l) => l.line_id)).size).toBe(COUNTRIES.length);
    expect(await explained(lines)).toBe(COUNTRIES.length);
    expect(report && isCloseReport(report) ? report.totals.amount : undefined).toBe("1.20");
  });
});

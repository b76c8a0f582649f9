/**
 * A close claims its account-period atomically (rating-rules G7): on DynamoDB Local,
 * two closes started together write once; a close that crashed between its lines and its record is
 * redone by the next run after the claim's lease, with the same line ids and nothing extra; a
 * closed period's items never change again.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { CLOSE_LEASE_MS, closePeriod } from "../../shared/app/close-period.js";
import { ingestUsageMessage } from "../../shared/app/ingest-usage.js";
import {
  type AccountCloseOutcome,
  type AccountCloseReport,
  isCloseReport,
} from "../../shared/core/close-report.js";
import { type BillingConfig, parseAccounts } from "../../shared/core/config.js";
import { type Clock, VirtualClock } from "../../shared/ports/clock.js";
import type { PeriodStore } from "../../shared/ports/storage.js";
import { closeAndIngestDeps, countingPeriods, withPeriods } from "../support/close-store.js";
import { stdTariffs, useDynamoDbLocal } from "../support/scenario.js";
import { allCloses, allLines } from "../support/table-scans.js";

const root = resolve(import.meta.dirname, "..", "..");
const configWith = (unitPrice: string): BillingConfig => {
  const tariffs = stdTariffs([
    { product: "sms.mt", match: { country: "TR" }, unitPrice },
    { product: "sms.mo", unitPrice: "0.005" },
  ]);
  const accounts = parseAccounts(
    [
      { accountId: "acme", name: "Acme", currency: "EUR", tariffId: "std" },
      { accountId: "globex", name: "Globex", currency: "EUR", tariffId: "std" },
    ],
    tariffs,
  );
  return { accounts, tariffs };
};
const config = configWith("0.012");

const sms = (id: string, subject: string, time: string, type = "sms.mt") =>
  JSON.stringify({
    specversion: "1.0",
    id,
    source: "/gw",
    type,
    subject,
    time,
    data:
      type === "sms.mt"
        ? { to: id, country: "TR", status: "submitted" }
        : { from: id, country: "TR", status: "accepted" },
  });

describe("closing an account-period: one claimant, crash-safe, immutable once closed (G7)", () => {
  const dynamo = useDynamoDbLocal();

  /**
   * A fresh table, on a client of its own, with the configuration and July (and a little August)
   * usage ingested.
   */
  async function freshTable(clock: Clock) {
    const c = dynamo.newClient();
    const { name: table, store } = await dynamo.table("close", c);
    await store.saveConfig(config);
    const deps = storeDepsOf(store, clock);
    const bodies = [
      sms("j1", "acme", "2025-07-02T09:00:00Z"),
      sms("j2", "acme", "2025-07-15T12:00:00Z"),
      sms("j3", "acme", "2025-07-31T23:00:00Z", "sms.mo"),
      sms("g1", "globex", "2025-07-04T08:00:00Z"),
      sms("a1", "acme", "2025-08-01T10:00:00Z"),
    ];
    for (const [i, b] of bodies.entries()) await ingestUsageMessage(b, `m${i}`, deps);
    const doc = DynamoDBDocumentClient.from(c);
    /** Every item of the table, in key order: what "nothing changed" is compared on. */
    const items = async () => {
      const all: Record<string, unknown>[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const r = await doc.send(
          new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey }),
        );
        all.push(...((r.Items ?? []) as Record<string, unknown>[]));
        ExclusiveStartKey = r.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      const key = (i: Record<string, unknown>) => `${String(i.pk)}\u0000${String(i.sk)}`;
      return all.sort((a, b) => (key(a) < key(b) ? -1 : 1));
    };
    const lines = async (period: string) =>
      (await allLines(store))
        .filter((l) => l.period === period)
        .sort((a, b) => (a.line_id < b.line_id ? -1 : 1));
    return { table, store, deps, items, lines };
  }

  const storeDepsOf = (store: DynamoBillingStore, clock: Clock, periods?: PeriodStore) =>
    closeAndIngestDeps(store, clock, config, periods);
  const statuses = (o: readonly AccountCloseOutcome[]) => o.map((r) => `${r.accountId} ${r.status}`).sort();

  it("two closes started together, each with its own client: exactly one writes, lines and record once", async () => {
    const clock = new VirtualClock(Date.parse("2025-08-01T00:00:00Z"));
    const t = await freshTable(clock);
    const runs = [0, 1].map(() => {
      const store = new DynamoBillingStore(dynamo.newClient(), t.table);
      const periods = countingPeriods(store);
      return { periods, deps: storeDepsOf(store, clock, periods) };
    });
    const [a, b] = await Promise.all(runs.map((r) => closePeriod("2025-07", r.deps)));
    for (const account of ["acme", "globex"]) {
      const both = [a, b].map((o) => o?.find((r) => r.accountId === account)?.status).sort();
      // The loser saw the winner's claim, or (if the winner was already done) its closed record.
      expect(both, account).toHaveLength(2);
      expect(
        both.filter((s) => s === "closed"),
        account,
      ).toHaveLength(1);
      expect(["already-closed", "being-closed"]).toContain(both.find((s) => s !== "closed"));
    }
    const total = (k: "writeCloseLines" | "finishClose") => runs.reduce((s, r) => s + r.periods.writes[k], 0);
    expect(total("writeCloseLines")).toBe(2); // one per account, by whichever run claimed it
    expect(total("finishClose")).toBe(2);
    const closes = (await allCloses(t.store)).filter((c) => c.period === "2025-07");
    expect(closes.map((c) => `${c.accountId} ${c.status}`).sort()).toEqual(["acme closed", "globex closed"]);
    const reports = [...(a ?? []), ...(b ?? [])].filter(
      (r): r is AccountCloseReport => isCloseReport(r) && r.status === "closed",
    );
    expect((await t.lines("2025-07")).length).toBe(reports.reduce((s, r) => s + r.lines, 0));
    expect(reports.find((r) => r.accountId === "acme")?.totals.amount).toBe("0.03"); // 2 × 0.012 + 0.005
  });

  it("a close that finds another run's live claim stops, writes nothing and says so; the claimant then closes", async () => {
    const clock = new VirtualClock(Date.parse("2025-08-01T00:00:00Z"));
    const t = await freshTable(clock);
    // Run A claims acme, then waits (inside the real ledger read) until run B has finished.
    let claimed!: () => void;
    const aClaimed = new Promise<void>((r) => {
      claimed = r;
    });
    let release!: () => void;
    const bDone = new Promise<void>((r) => {
      release = r;
    });
    // The real usage store, held up once the close has claimed the period and reads its events.
    const usage = Object.create(t.store.usage) as typeof t.store.usage;
    usage.statefulEventsOf = async (id, periods) => {
      claimed();
      await bDone;
      return t.store.usage.statefulEventsOf(id, periods);
    };
    const held = { ...storeDepsOf(t.store, clock), usage };
    const a = closePeriod("2025-07", held, { accountIds: ["acme"] });
    await aClaimed;
    const before = await t.items();
    const bPeriods = countingPeriods(new DynamoBillingStore(dynamo.newClient(), t.table));
    const b = await closePeriod("2025-07", storeDepsOf(t.store, clock, bPeriods), { accountIds: ["acme"] });
    expect(b).toEqual([
      expect.objectContaining({
        accountId: "acme",
        period: "2025-07",
        status: "being-closed",
        claimedBy: expect.any(String),
      }),
    ]);
    expect(bPeriods.writes).toMatchObject({ writeCloseLines: 0, finishClose: 0, markLate: 0, clearLate: 0 });
    expect(await t.items()).toEqual(before);
    release();
    expect(statuses(await a)).toEqual(["acme closed"]);
  });

  it("a crash between the lines and the record: a rerun within the lease stops, after it redoes the close with the same lines", async () => {
    const clock = new VirtualClock(Date.parse("2025-08-01T00:00:00Z"));
    const t = await freshTable(clock);
    expect(statuses(await closePeriod("2025-07", t.deps))).toEqual(["acme closed", "globex closed"]);
    // A late July event (G7): August's close bills it as an adjustment of July.
    clock.advanceTo(Date.parse("2025-08-10T00:00:00Z"));
    await ingestUsageMessage(sms("late", "acme", "2025-07-20T10:00:00Z"), "m-late", t.deps);
    clock.advanceTo(Date.parse("2025-09-01T00:00:00Z"));

    const crashing = withPeriods(t.store, {
      finishClose: async () => {
        throw new Error("injected crash after the lines were written");
      },
    });
    await expect(
      closePeriod("2025-08", storeDepsOf(t.store, clock, crashing), { accountIds: ["acme"] }),
    ).rejects.toThrow(/injected crash/);
    const crashedLines = await t.lines("2025-08");
    expect(crashedLines.map((l) => `${l.line_type} ${l.reference_period} ${l.amount}`).sort()).toEqual([
      // July re-rated: 3 × 0.012 = 0.036 → 0.04, minus the 0.02 billed
      "adjustment 2025-07 0.02",
      "usage 2025-08 0.01",
    ]);
    expect((await t.store.getClose("acme", "2025-08"))?.status).toBe("closing");

    // Within the lease the crashed run might still be alive: stop, write nothing.
    const before = await t.items();
    clock.advanceTo(clock.now() + CLOSE_LEASE_MS - 1);
    expect(statuses(await closePeriod("2025-08", t.deps, { accountIds: ["acme"] }))).toEqual([
      "acme being-closed",
    ]);
    expect(await t.items()).toEqual(before);

    // After the lease: taken over and redone, the same line ids and lines, nothing extra; closed.
    clock.advanceTo(clock.now() + 2);
    const [report] = await closePeriod("2025-08", t.deps, { accountIds: ["acme"] });
    expect(report?.status).toBe("closed");
    expect(await t.lines("2025-08")).toEqual(crashedLines);
    expect(report && isCloseReport(report) ? report.adjustments : undefined).toEqual([
      { referencePeriod: "2025-07", amount: "0.02", lines: 1 },
    ]);
    expect(report && isCloseReport(report) ? report.lines : undefined).toBe(2);
    expect((await t.store.getClose("acme", "2025-08"))?.status).toBe("closed");

    // A closed period never changes: a rerun, even after any lease, leaves every item as it was.
    const closed = await t.items();
    clock.advanceTo(clock.now() + 10 * CLOSE_LEASE_MS);
    const again = await closePeriod("2025-08", t.deps, { accountIds: ["acme"] });
    expect(again).toEqual([{ ...report, status: "already-closed" }]);
    expect(await t.items()).toEqual(closed);
  });

  it("a redo after a crash removes the crashed attempt's lines it does not emit itself (tariff corrected meanwhile)", async () => {
    const clock = new VirtualClock(Date.parse("2025-08-01T00:00:00Z"));
    const t = await freshTable(clock);
    const crashing = withPeriods(t.store, {
      finishClose: async () => {
        throw new Error("injected crash");
      },
    });
    await expect(
      closePeriod("2025-07", storeDepsOf(t.store, clock, crashing), { accountIds: ["acme"] }),
    ).rejects.toThrow();
    expect((await t.lines("2025-07")).map((l) => l.unit_price).sort()).toEqual(["0.005", "0.012"]);
    clock.advanceTo(clock.now() + CLOSE_LEASE_MS + 1);
    const corrected = configWith("0.02");
    const [report] = await closePeriod(
      "2025-07",
      { ...t.deps, config: async () => corrected },
      { accountIds: ["acme"] },
    );
    expect(report?.status).toBe("closed");
    const lines = await t.lines("2025-07");
    expect(lines.map((l) => `${l.unit_price} ${l.amount}`).sort()).toEqual(["0.005 0.01", "0.02 0.04"]);
  });

  it("two closes in two processes started together: exactly one writes each account", async () => {
    const clock = new VirtualClock(Date.parse("2025-08-01T00:00:00Z"));
    const t = await freshTable(clock);
    const env = {
      ...process.env,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      BILLING_TABLE: t.table,
      PERIOD: "2025-07",
    };
    const children = [0, 1].map(() => {
      const child = spawn(process.execPath, ["--import", "tsx", "test/support/close-run.ts"], {
        cwd: root,
        env,
        stdio: ["pipe", "pipe", "inherit"],
      });
      const out = createInterface({ input: child.stdout });
      const lines: string[] = [];
      const ready = new Promise<void>((r) => out.on("line", (l) => (l === "ready" ? r() : lines.push(l))));
      const exited = new Promise<number | null>((r) => child.once("close", r));
      return { child, ready, exited, lines };
    });
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.child.stdin.end("go\n");
    expect(await Promise.all(children.map((c) => c.exited))).toEqual([0, 0]);
    const results = children.map(
      (c) =>
        JSON.parse(c.lines.at(-1) ?? "{}") as {
          outcomes: AccountCloseOutcome[];
          writes: Record<string, number>;
        },
    );
    for (const account of ["acme", "globex"]) {
      const both = results.map((r) => r.outcomes.find((o) => o.accountId === account)?.status).sort();
      expect(
        both.filter((s) => s === "closed"),
        account,
      ).toHaveLength(1);
      expect(["already-closed", "being-closed"]).toContain(both.find((s) => s !== "closed"));
    }
    expect(results.reduce((s, r) => s + (r.writes.writeCloseLines ?? 0), 0)).toBe(2);
    expect(results.reduce((s, r) => s + (r.writes.finishClose ?? 0), 0)).toBe(2);
    const closes = (await allCloses(t.store)).filter((c) => c.period === "2025-07");
    expect(closes.map((c) => `${c.accountId} ${c.status}`).sort()).toEqual(["acme closed", "globex closed"]);
    expect((await t.lines("2025-07")).length).toBe(3);
  });
});

/**
 * The close fan-out on the embedded local stack (rating-rules G3): the hourly scheduler enqueues
 * each account once its own period has ended in its time zone plus the grace, the close worker
 * (several pollers side by side, as concurrent Lambda instances) closes it; a crash of one account's
 * close in a worker batch leaves the others closed and the failed one is redone on a later receive.
 */
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { createCloseWorkerHandler } from "../../functions/close-worker/handler.js";
import { CLOSE_LEASE_MS } from "../../shared/app/close-period.js";
import { isCloseReport } from "../../shared/core/close-report.js";
import { parseAccounts } from "../../shared/core/config.js";
import { HOUR } from "../../shared/core/time.js";
import { storeDeps } from "../../shared/runtime/wiring.js";
import { withPeriods } from "../support/close-store.js";
import { stdTariffs, usageBody, useLocalSystem } from "../support/scenario.js";
import { allLines } from "../support/table-scans.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }], {
  effectiveFrom: "2024-12-01T00:00:00Z",
});
// UTC+14, UTC+3, UTC−8 (January: no daylight saving), UTC−12.
const ZONES = {
  kiritimati: "Pacific/Kiritimati",
  istanbul: "Europe/Istanbul",
  seattle: "America/Los_Angeles",
  baker: "Etc/GMT+12",
} as const;
const accounts = parseAccounts(
  Object.entries(ZONES).map(([accountId, timezone]) => ({
    accountId,
    name: accountId,
    currency: "EUR",
    tariffId: "std",
    timezone,
  })),
  tariffs,
);
const sms = (id: string, subject: string, time: string) =>
  usageBody("sms.mt", time, { to: id, country: "TR", status: "submitted" }, { id, subject });

describe("close fan-out: each account closed after its own period end plus the grace", () => {
  const scenario = useLocalSystem({
    at: "2025-01-20T00:00:00Z",
    config: { accounts, tariffs },
    closeWorkers: 2,
  });
  const { clock } = scenario;
  beforeAll(async () => {
    await scenario.ingest(
      accounts.flatMap((a) => [
        sms(`${a.accountId}-1`, a.accountId, "2025-01-15T12:00:00Z"),
        sms(`${a.accountId}-2`, a.accountId, "2025-01-16T12:00:00Z"),
      ]),
    );
  });

  it("UTC+14, UTC+3, UTC−8 and UTC−12 accounts are each closed in the first hourly run after their own January end + 2 h", async () => {
    const closedAt = new Map<string, string>();
    // Hourly runs from 2025-01-31T00:00Z to 2025-02-01T16:00Z (January ends 26 hours apart across the zones).
    for (let t = Date.parse("2025-01-31T00:00:00Z"); t <= Date.parse("2025-02-01T16:00:00Z"); t += HOUR) {
      scenario.clock.advanceTo(t);
      await scenario.system.scheduleCloses(2);
      for (const o of await scenario.system.drainCloses())
        if (o.period === "2025-01" && o.status === "closed") {
          expect(closedAt.has(o.accountId), `${o.accountId} closed twice`).toBe(false);
          closedAt.set(o.accountId, new Date(t).toISOString());
        }
      // Never before its own end + grace: a closed record exists only for the zones due by now.
      for (const a of accounts) {
        const record = await scenario.system.store.getClose(a.accountId, "2025-01");
        expect(record?.status === "closed", `${a.accountId} at ${new Date(t).toISOString()}`).toBe(
          closedAt.has(a.accountId),
        );
      }
    }
    expect(Object.fromEntries(closedAt)).toEqual({
      kiritimati: "2025-01-31T12:00:00.000Z", // ends 2025-01-31T10:00Z
      istanbul: "2025-01-31T23:00:00.000Z", // ends 2025-01-31T21:00Z
      seattle: "2025-02-01T10:00:00.000Z", // ends 2025-02-01T08:00Z
      baker: "2025-02-01T14:00:00.000Z", // ends 2025-02-01T12:00Z
    });
    for (const a of accounts) {
      const report = (await scenario.system.store.getClose(a.accountId, "2025-01"))?.report;
      expect(report).toMatchObject({ events: 2, lines: 1, totals: { amount: "0.10" } });
    }
    // Hours later the scheduler enqueues nothing more for January.
    scenario.travelTo("2025-02-01T20:00:00Z");
    expect((await scenario.system.scheduleCloses(2)).filter((f) => f.period === "2025-01")).toEqual([]);
  });

  it("a crash in the middle of one account's close in a batch: the others close, the crashed one is retried and redone after the lease with the same lines", async () => {
    scenario.travelTo("2025-03-01T20:00:00Z");
    await scenario.ingest(
      accounts.map((a) => sms(`${a.accountId}-feb`, a.accountId, "2025-02-10T12:00:00Z")),
    );
    const record = (messageId: string, accountId: string) =>
      ({ messageId, body: JSON.stringify({ accountId, period: "2025-02" }) }) as SQSRecord;
    const deps = storeDeps(scenario.system.store, clock, async () => ({ accounts, tariffs }));
    // istanbul's lines are written, then its run dies before the close record (between two writes).
    const crashing = createCloseWorkerHandler({
      ...deps,
      periods: withPeriods(scenario.system.store, {
        finishClose: async (accountId, ...rest) => {
          if (accountId === "istanbul") throw new Error("injected crash after the lines");
          return scenario.system.store.finishClose(accountId, ...rest);
        },
      }),
    });
    const batch = { Records: accounts.map((a) => record(`m-${a.accountId}`, a.accountId)) } as SQSEvent;
    const first = await crashing(batch);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: "m-istanbul" }]);
    expect((await scenario.system.store.getClose("istanbul", "2025-02"))?.status).toBe("closing");
    const february = async () =>
      (await allLines(scenario.system.store))
        .filter((l) => l.period === "2025-02")
        .map((l) => `${l.account_id} ${l.line_id} ${l.amount}`)
        .sort();
    const crashed = await february();
    expect(crashed.filter((l) => l.startsWith("istanbul "))).toHaveLength(1);
    for (const id of ["kiritimati", "seattle", "baker"])
      expect((await scenario.system.store.getClose(id, "2025-02"))?.status).toBe("closed");

    // The re-delivery within the lease: the claim may still be alive, so it is a failure again.
    const worker = createCloseWorkerHandler(deps);
    const retry = { Records: [record("m-istanbul", "istanbul")] } as SQSEvent;
    expect((await worker(retry)).batchItemFailures).toEqual([{ itemIdentifier: "m-istanbul" }]);
    // After the lease: taken over and closed; every account once, lines once.
    scenario.clock.advanceTo(scenario.clock.now() + CLOSE_LEASE_MS + 1);
    expect((await worker(retry)).batchItemFailures).toEqual([]);
    expect((await worker(batch)).batchItemFailures).toEqual([]); // all closed: a duplicate batch is acknowledged
    expect(await february()).toEqual(crashed); // the redo wrote the same line ids, nothing more
    expect(crashed.map((l) => l.split(" ")[0])).toEqual(["baker", "istanbul", "kiritimati", "seattle"]);
    for (const a of accounts)
      expect((await scenario.system.store.getClose(a.accountId, "2025-02"))?.status).toBe("closed");
  });

  it("two closes of the same accounts at once through the queue (two workers): each account-period closed once", async () => {
    scenario.travelTo("2025-04-02T00:00:00Z");
    await scenario.ingest(
      accounts.map((a) => sms(`${a.accountId}-mar`, a.accountId, "2025-03-10T12:00:00Z")),
    );
    // Every request twice on the queue, drained by two pollers side by side.
    const requests = accounts.map((a) => ({ accountId: a.accountId, period: "2025-03" }));
    await scenario.system.closeQueue.enqueue([...requests, ...requests]);
    const outcomes = await scenario.system.drainCloses();
    expect(outcomes.filter(isCloseReport).length).toBe(accounts.length);
    const lines = await scenario.lines({ period: "2025-03" });
    expect(lines.map((l) => `${l.account_id} ${l.amount}`).sort()).toEqual(
      accounts.map((a) => `${a.accountId} 0.05`).sort(),
    );
  });
});

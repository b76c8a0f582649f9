/**
 * The close worker's memory budget (close-budget.ts) on DynamoDB Local: one close batch holding two
 * accounts whose raw events do not fit in the budget together closes both, one after the other
 * (never both held at once), and a small account of the same batch beside them. CI-sized: a budget
 * of a few MB and accounts of a few hundred stateful events stand for 1,024 MB and 1,000,000 events.
 */
import type { SQSEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { createCloseWorkerHandler } from "../../functions/close-worker/handler.js";
import { BYTES_PER_RAW_EVENT, CloseMemoryBudget } from "../../shared/app/close-budget.js";
import { type AccountCloseOutcome, isCloseReport } from "../../shared/core/close-report.js";
import { parseAccounts } from "../../shared/core/config.js";
import { storeDeps } from "../../shared/runtime/wiring.js";
import { stdTariffs, usageBody, useLocalSystem } from "../support/scenario.js";

const tariffs = stdTariffs(
  [
    { product: "sms.mt", unitPrice: "0.05" },
    { product: "messenger.active_user", unitPrice: "0.10" },
  ],
  { effectiveFrom: "2024-12-01T00:00:00Z" },
);
const accounts = parseAccounts(
  ["big1", "big2", "small"].map((accountId) => ({
    accountId,
    name: accountId,
    currency: "EUR",
    tariffId: "std",
  })),
  tariffs,
);
/** Stateful events per big account, and distinct end users among them (one active-user line each). */
const EVENTS = 300;
const USERS = 120;
const messenger = (subject: string, i: number) =>
  usageBody(
    "messenger.message",
    new Date(Date.parse("2025-07-02T00:00:00Z") + i * 60_000).toISOString(),
    { endUserId: `u${i % USERS}`, delivered: true },
    { id: `${subject}-${i}`, source: "/messenger", subject },
  );
const sms = (i: number) =>
  usageBody(
    "sms.mt",
    "2025-07-03T00:00:00Z",
    { to: `${i}`, country: "TR", status: "submitted" },
    { id: `small-${i}`, subject: "small" },
  );

describe("close memory budget: a batch of two big accounts closes them one at a time", () => {
  const scenario = useLocalSystem({ at: "2025-07-31T00:00:00Z", config: { accounts, tariffs } });
  beforeAll(async () => {
    const tally = await scenario.ingest([
      ...Array.from({ length: EVENTS }, (_, i) => messenger("big1", i)),
      ...Array.from({ length: EVENTS }, (_, i) => messenger("big2", i)),
      sms(1),
      sms(2),
    ]);
    expect(tally.stored).toBe(2 * EVENTS + 2);
  });

  it("both big accounts and the small one are closed; the two big ones' events were never held at once", async () => {
    scenario.clock.advanceTo(Date.parse("2025-08-01T03:00:00Z"));
    // Room for three closes' own footprint and one big account's events, not two.
    const oneBig = EVENTS * BYTES_PER_RAW_EVENT;
    const perClose = 1_000;
    const budget = new CloseMemoryBudget(3 * perClose + 1.5 * oneBig, BYTES_PER_RAW_EVENT, perClose);
    const outcomes: AccountCloseOutcome[] = [];
    const worker = createCloseWorkerHandler(
      storeDeps(scenario.system.store, scenario.clock, async () => ({ accounts, tariffs })),
      { budget, onOutcome: (o) => outcomes.push(o) },
    );
    const batch = {
      Records: ["big1", "big2", "small"].map((accountId) => ({
        messageId: `m-${accountId}`,
        body: JSON.stringify({ accountId, period: "2025-07" }),
      })),
    } as SQSEvent;

    const response = await worker(batch);

    expect(response.batchItemFailures).toEqual([]);
    const closed = new Map(outcomes.filter(isCloseReport).map((o) => [o.accountId, o]));
    expect([...closed.keys()].sort()).toEqual(["big1", "big2", "small"]);
    for (const a of ["big1", "big2"]) {
      expect(closed.get(a)?.status).toBe("closed");
      expect(closed.get(a)?.events).toBe(EVENTS);
      const lines = await scenario.lines({ period: "2025-07", accountId: a });
      expect(lines.map((l) => [l.product, l.quantity])).toEqual([["messenger.active_user", String(USERS)]]);
    }
    expect(closed.get("small")?.events).toBe(2);
    const stats = budget.snapshot();
    // The guard: the second big account waited for the first to finish (both read 300 events).
    expect(stats.peakHoldingRaw).toBe(1);
    expect(stats.waits).toBeGreaterThanOrEqual(1);
    expect(stats.overBudget).toBe(0);
    expect(stats.peakReserved).toBeLessThanOrEqual(budget.capacityBytes);
    expect(stats.peakReserved).toBeGreaterThanOrEqual(oneBig);
  });
});

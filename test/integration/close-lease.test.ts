/**
 * A live close that loses its lease (issue 22, item 4), on DynamoDB Local: run A claims the
 * account-period and stalls (a long GC pause, a slow network) before writing its lines; past the
 * 20-minute lease run B takes the claim over and stalls in turn; A wakes and writes: every write of
 * A is refused (the owner check of billing-table.ts), B's lines and record complete the close.
 * A and B rate with different prices (A read an older tariff), so whose lines landed is visible.
 */
import { describe, expect, it } from "vitest";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { CLOSE_LEASE_MS, closePeriod } from "../../shared/app/close-period.js";
import { ingestUsageMessage } from "../../shared/app/ingest-usage.js";
import { type BillingConfig, parseAccounts } from "../../shared/core/config.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import type { PeriodStore } from "../../shared/ports/storage.js";
import { closeAndIngestDeps, withPeriods } from "../support/close-store.js";
import { stdTariffs, useDynamoDbLocal } from "../support/scenario.js";
import { allLines } from "../support/table-scans.js";

const configWith = (unitPrice: string): BillingConfig => {
  const tariffs = stdTariffs([{ product: "sms.mt", unitPrice }]);
  return {
    tariffs,
    accounts: parseAccounts([{ accountId: "acme", name: "Acme", currency: "EUR", tariffId: "std" }], tariffs),
  };
};
const sms = (id: string) =>
  JSON.stringify({
    specversion: "1.0",
    id,
    source: "/gw",
    type: "sms.mt",
    subject: "acme",
    time: "2025-07-02T09:00:00Z",
    data: { to: id, country: "TR", status: "submitted" },
  });
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

describe("a live close that loses its lease", () => {
  const dynamo = useDynamoDbLocal();

  it("its writes are refused once another run took the claim over; the new owner's lines complete the close", async () => {
    const clock = new VirtualClock(Date.parse("2025-08-01T00:00:00Z"));
    const { name: table, store } = await dynamo.table("lease", dynamo.newClient());
    const current = configWith("0.05");
    await store.saveConfig(current);
    for (const id of ["e1", "e2", "e3"])
      await ingestUsageMessage(sms(id), id, closeAndIngestDeps(store, clock, current));

    /** A run whose line writes wait at `held` (once `reached` tells the test it got there). */
    const stalling = (s: DynamoBillingStore) => {
      const reached = gate();
      const held = gate();
      const results: boolean[] = [];
      const periods: PeriodStore = withPeriods(s, {
        writeCloseLines: async (...args: Parameters<PeriodStore["writeCloseLines"]>) => {
          reached.open();
          await held.opened;
          const ok = await s.writeCloseLines(...args);
          results.push(ok);
          return ok;
        },
      });
      return { reached, held, results, periods };
    };

    // Run A: an older tariff (0.50), claims, rates, stalls before its lines.
    const aStore = new DynamoBillingStore(dynamo.newClient(), table);
    const a = stalling(aStore);
    const runA = closePeriod("2025-07", closeAndIngestDeps(aStore, clock, configWith("0.50"), a.periods), {
      accountIds: ["acme"],
    });
    await a.reached.opened;

    // The lease passes; run B (the current tariff) takes the claim over and stalls too.
    clock.advanceTo(clock.now() + CLOSE_LEASE_MS + 1);
    const bStore = new DynamoBillingStore(dynamo.newClient(), table);
    const b = stalling(bStore);
    const runB = closePeriod("2025-07", closeAndIngestDeps(bStore, clock, current, b.periods), {
      accountIds: ["acme"],
    });
    await b.reached.opened;
    const holder = (await store.getClose("acme", "2025-07"))?.owner;

    // A wakes while B holds the claim: its lines are refused, it reports the period being closed.
    a.held.open();
    const [aOutcome] = await runA;
    expect(a.results).toEqual([false]);
    expect(aOutcome).toMatchObject({ accountId: "acme", status: "being-closed" });
    expect(await allLines(store)).toEqual([]);

    // B completes: its lines (3 × 0.05), its record.
    b.held.open();
    const [bOutcome] = await runB;
    expect(b.results).toEqual([true]);
    expect(bOutcome).toMatchObject({
      accountId: "acme",
      status: "closed",
      lines: 1,
      totals: { amount: "0.15" },
    });
    const lines = await allLines(store);
    expect(lines.map((l) => [l.product, l.quantity, l.amount])).toEqual([["sms.mt", "3", "0.15"]]);
    const record = await store.getClose("acme", "2025-07");
    expect(record).toMatchObject({ status: "closed", owner: holder });
  });
});

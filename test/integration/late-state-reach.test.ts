/**
 * G7 where a late event's state reaches later closed periods, through the real ingest and close on
 * DynamoDB Local (issue 21's example): January and February are closed; then January's late
 * activation of one number and deactivation of another arrive. The March close bills adjustments
 * for BOTH January and February — the first number's February fee, the second one's February fee
 * taken back — and March itself carries the corrected state.
 */
import { describe, expect, it } from "vitest";
import { CLOSE_LEASE_MS, closePeriod } from "../../shared/app/close-period.js";
import { ingestBatch } from "../../shared/app/ingest-usage.js";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import { type AccountCloseReport, isCloseReport } from "../../shared/core/close-report.js";
import type { BillingConfig } from "../../shared/core/config.js";
import { closeAndIngestDeps, configuredTable, withPeriods } from "../support/close-store.js";
import { configOf, stdTariffs, usageBody, useDynamoDbLocal } from "../support/scenario.js";
import { allLines } from "../support/table-scans.js";

const tariffs = stdTariffs([
  { product: "number.setup", unitPrice: "1.00" },
  { product: "number.monthly", unitPrice: "2.00" },
]);
const config: BillingConfig = configOf(tariffs);
const number = (id: string, country: string) => ({
  resourceId: id,
  resourceType: "number" as const,
  numberType: "long" as const,
  country,
});

const view = (l: InvoiceLine) =>
  `${l.period} ${l.reference_period} ${l.line_type} ${l.product} ${l.dimensions} ${l.quantity} ${l.amount}`;

describe("G7: a late event re-rates every later closed period its state reaches", () => {
  const dynamo = useDynamoDbLocal();

  async function example({ crashFirstMarchClose }: { crashFirstMarchClose: boolean }) {
    const { store, clock, deps } = await configuredTable(
      dynamo,
      "late-reach",
      config,
      "2025-01-02T10:00:00Z",
    );
    const send = async (bodies: string[]) => {
      const r = await ingestBatch(
        bodies.map((body, i) => ({ messageId: `m-${clock.now()}-${i}`, body })),
        deps,
      );
      expect(r.outcomes.map((o) => o.kind)).toEqual(bodies.map(() => "stored"));
      return r;
    };
    const close = async (period: string, at: string) => {
      clock.advanceTo(Date.parse(at));
      const [report] = await closePeriod(period, deps);
      if (!report || !isCloseReport(report)) throw new Error(`${period} not closed`);
      return report as AccountCloseReport;
    };

    // Number B (Germany) is activated on time in January.
    await send([
      usageBody("resource.activated", "2025-01-02T09:00:00Z", number("num-b", "DE"), { id: "b-on" }),
    ]);
    await close("2025-01", "2025-02-02T00:00:00Z");
    await close("2025-02", "2025-03-02T00:00:00Z");
    const billedBefore = (await store.linesForReference("acme", "2025-02")).map(view);
    expect(billedBefore).toEqual([
      "2025-02 2025-02 recurring number.monthly country=DE;numberType=long 1 2.00",
    ]);

    // Late: number A (US) was activated on 20 January, number B deactivated on 25 January.
    clock.advanceTo(Date.parse("2025-03-05T00:00:00Z"));
    const late = await send([
      usageBody("resource.activated", "2025-01-20T12:00:00Z", number("num-a", "US"), { id: "a-on" }),
      usageBody("resource.deactivated", "2025-01-25T12:00:00Z", number("num-b", "DE"), { id: "b-off" }),
    ]);
    expect(late.outcomes).toEqual([
      { kind: "stored", accountId: "acme", late: true },
      { kind: "stored", accountId: "acme", late: true },
    ]);
    // Ingest marks only January (one marker, no read of history); it says the state reaches further.
    expect(await store.latePeriods("acme")).toEqual([
      { period: "2025-01", markedAt: Date.parse("2025-03-05T00:00:00Z"), later: true },
    ]);

    if (crashFirstMarchClose) {
      // A first March close dies after rewriting the snapshots, before its record: February's
      // snapshot now already holds the corrected state, so only its marker can say it was reached.
      clock.advanceTo(Date.parse("2025-04-02T00:00:00Z"));
      const crashing = closeAndIngestDeps(
        store,
        clock,
        config,
        withPeriods(store, {
          finishClose: async () => {
            throw new Error("crash before the close record");
          },
        }),
      );
      await expect(closePeriod("2025-03", crashing)).rejects.toThrow("crash before the close record");
      expect((await store.usage.snapshotAt("acme", "2025-02"))?.events.map((e) => e.id).sort()).toEqual([
        "a-on",
        "b-off",
        "b-on",
      ]);
      clock.advanceTo(Date.parse("2025-04-02T00:00:00Z") + CLOSE_LEASE_MS + 60_000);
    }
    const march = await close("2025-03", "2025-04-02T00:00:00Z");
    expect(march.adjustments).toEqual([
      { referencePeriod: "2025-01", amount: "3.00", lines: 2 },
      { referencePeriod: "2025-02", amount: "0.00", lines: 2 },
    ]);
    const marchLines = (await allLines(store))
      .filter((l) => l.period === "2025-03")
      .map(view)
      .sort();
    expect(marchLines).toEqual(
      [
        // January: A's setup fee and A's January fee; B was active in January, its fee stands.
        "2025-03 2025-01 adjustment number.setup country=US;numberType=long 1 1.00",
        "2025-03 2025-01 adjustment number.monthly country=US;numberType=long 1 2.00",
        // February: A's fee was missing, B's was billed though B was no longer active.
        "2025-03 2025-02 adjustment number.monthly country=US;numberType=long 1 2.00",
        "2025-03 2025-02 adjustment number.monthly country=DE;numberType=long -1 -2.00",
        // March from the corrected state: A only.
        "2025-03 2025-03 recurring number.monthly country=US;numberType=long 1 2.00",
      ].sort(),
    );
    // Every marker is cleared: the next close re-rates nothing.
    expect(await store.latePeriods("acme")).toEqual([]);
    const april = await close("2025-04", "2025-05-02T00:00:00Z");
    expect(april.adjustments).toEqual([]);
    // The snapshots written after January were rebuilt from the corrected state.
    const ids = (p: string) =>
      store.usage.snapshotAt("acme", p).then((s) => s?.events.map((e) => e.id).sort());
    expect(await ids("2025-02")).toEqual(["a-on", "b-off", "b-on"]);
    expect(await ids("2025-03")).toEqual(["a-on", "b-off", "b-on"]);
  }

  it("January's late activation and deactivation are adjusted in January AND February at March's close", () =>
    example({ crashFirstMarchClose: false }));

  it("a March close that crashed after rewriting February's snapshot still adjusts February when redone", () =>
    example({ crashFirstMarchClose: true }));
});

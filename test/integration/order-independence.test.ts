/**
 * G5/G6 through the real ingest path: the same usage, sent once in order with batches of 10, and
 * shuffled, with re-deliveries, in batches of 1 and 7, gives byte-identical invoice lines.
 * Two accounts on one stack receive the two deliveries; their lines must match but for the account id.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventArb } from "../support/mixed-events.js";
import { deliveredBy, twinCsv, twinDeliveryConfig } from "../support/mixed-tariff.js";
import { useLocalSystem } from "../support/scenario.js";
import { allLines } from "../support/table-scans.js";

const config = twinDeliveryConfig();

describe("order, duplicates and batching through SQS and the ingest handler (G5, G6)", () => {
  // Received after the last generated event (up to 2 August): none is "more than 24 hours ahead".
  const scenario = useLocalSystem({ at: "2025-08-03T00:00:00Z", config });

  it("gives byte-identical invoice lines", async () => {
    const events = fc.sample(fc.array(eventArb, { minLength: 150, maxLength: 150 }), {
      numRuns: 1,
      seed: 20250701,
    })[0]!;
    const body = (e: (typeof events)[number], account: string) => JSON.stringify(deliveredBy(e, account));
    await scenario.system.send(events.map((e) => body(e, "in-order")));
    await scenario.system.drain(undefined, { batchSize: 10 });

    const rng = fc.sample(fc.integer(), { numRuns: events.length * 2, seed: 7 });
    const shuffled = events
      .map((e, i) => ({ e, k: rng[i]! }))
      .sort((a, b) => a.k - b.k)
      .map(({ e }) => body(e, "shuffled"));
    const redelivered = shuffled.filter((_, i) => rng[events.length + i]! % 3 === 0);
    await scenario.system.send(shuffled.slice(0, 70));
    await scenario.system.drain(undefined, { batchSize: 1 });
    await scenario.system.send([...redelivered, ...shuffled.slice(70)]);
    const tally = await scenario.system.drain(undefined, { batchSize: 7 });
    expect(tally.duplicate).toBe(redelivered.length);

    scenario.travelTo("2025-08-01T00:00:00Z");
    await scenario.closePeriod("2025-07");
    const lines = await allLines(scenario.system.store);
    const csvOf = (account: string) => twinCsv(lines, account);
    const inOrder = csvOf("in-order");
    expect(inOrder.split("\n").length).toBeGreaterThan(8);
    expect(csvOf("shuffled")).toBe(inOrder);
  });
});

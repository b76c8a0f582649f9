/**
 * A whole month through the real ingest path twice: once in order as single-event bodies, once
 * shuffled into CloudEvents batch bodies of random sizes with other invocation sizes, then the
 * whole month re-delivered again, shuffled differently: byte-identical invoice lines (G5, G6),
 * counted events in monthly counters and stateful events alike.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countedEventArb } from "../support/counted-events.js";
import { eventArb } from "../support/mixed-events.js";
import { deliveredBy, mixedTariffVersion, twinCsv, twinDeliveryConfig } from "../support/mixed-tariff.js";
import { useLocalSystem } from "../support/scenario.js";
import { allLines } from "../support/table-scans.js";

const config = twinDeliveryConfig({
  ...mixedTariffVersion,
  rates: [
    ...mixedTariffVersion.rates,
    { product: "email.message", unitPrice: "0.001" },
    { product: "recording.video_export", unitPrice: "0.02" },
    { product: "voice.conference_participant", unitPrice: "0.004" },
  ],
});

describe("a month re-delivered shuffled, in batch bodies and other batch sizes (G5, G6)", () => {
  // Received after the last generated event (up to 2 August): none is "more than 24 hours ahead".
  const scenario = useLocalSystem({ at: "2025-08-03T00:00:00Z", config });

  it("gives byte-identical invoice lines", async () => {
    const events = fc.sample(
      fc.array(fc.oneof(eventArb, countedEventArb), { minLength: 400, maxLength: 400 }),
      {
        numRuns: 1,
        seed: 20250801,
      },
    )[0]!;
    const json = deliveredBy;
    await scenario.system.send(events.map((e) => JSON.stringify(json(e, "in-order"))));
    expect(await scenario.system.drain()).toMatchObject({ stored: events.length, failed: 0 });

    /** The month shuffled by `seed`, cut into runs of 1–40 events: batch bodies, short runs as single bodies. */
    const shuffledBodies = (seed: number) => {
      const r = fc.sample(fc.integer({ min: 0, max: 1_000_000 }), { numRuns: events.length * 2, seed });
      const order = events.map((e, i) => ({ e, k: r[i]! })).sort((a, b) => a.k - b.k);
      const bodies: string[] = [];
      for (let i = 0, j = events.length; i < order.length; j++) {
        const size = 1 + (r[j]! % 40);
        const part = order.slice(i, i + size).map(({ e }) => json(e, "shuffled"));
        // Short runs go as single-event bodies, longer ones as one CloudEvents batch body.
        if (size <= 6) bodies.push(...part.map((e) => JSON.stringify(e)));
        else bodies.push(JSON.stringify(part));
        i += size;
      }
      return bodies;
    };
    const first = shuffledBodies(7);
    expect(first.some((b) => b.startsWith("["))).toBe(true);
    expect(first.some((b) => b.startsWith("{"))).toBe(true);
    await scenario.system.send(first);
    expect(await scenario.system.drain(undefined, { batchSize: 3 })).toMatchObject({
      stored: events.length,
      failed: 0,
    });
    // The whole month again, shuffled otherwise, in another invocation size: nothing changes.
    await scenario.system.send(shuffledBodies(11));
    expect(await scenario.system.drain(undefined, { batchSize: 17 })).toMatchObject({
      stored: 0,
      duplicate: events.length,
      failed: 0,
    });

    scenario.travelTo("2025-08-01T00:00:00Z");
    await scenario.closePeriod("2025-07");
    const lines = await allLines(scenario.system.store);
    const csvOf = (account: string) => twinCsv(lines, account);
    const inOrder = csvOf("in-order");
    for (const product of [
      "sms.mt",
      "email.message",
      "genai.interaction",
      "whatsapp.template",
      "viber.message",
    ])
      expect(inOrder).toContain(`,${product},`);
    expect(csvOf("shuffled")).toBe(inOrder);
  }, 300_000);
});

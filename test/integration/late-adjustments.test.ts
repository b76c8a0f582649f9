/**
 * Late-event adjustments (rating-rules G7) through the real ingest and close on the local stack
 * (DynamoDB Local, the SQS-compatible server, the event-source poller), then the finance exports.
 * A dimension value may hold any printable character but `;` and `=` (contract §1): each reaches the
 * adjustment line, the CSV (RFC 4180) and the JSON export unchanged; a refused one is dead-lettered.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeExports } from "../../cli/exports.js";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import { parseAccounts, parseTariffs } from "../../shared/core/config.js";
import { csvRecords } from "../support/csv.js";
import { viberPriceRise } from "../support/events.js";
import { stdTariffs, useLocalSystem } from "../support/scenario.js";

/** Feature values with the characters contract §1 lets through, each with its own price. */
const FEATURES: [feature: string, unitPrice: string][] = [
  ["chat|v2", "0.3"],
  ["a,b", "0.4"],
  ["say \"hi\", 'bye'", "0.5"],
  [" spaced  out ", "0.6"],
  ["Çağrı özeti 要約 🚀", "0.7"],
  ["x|y,z\"w'v", "0.8"],
];

const tariffs = [
  ...stdTariffs([
    // "chat" is what the value before the first `|` would match: a corrupted key prices wrong.
    { product: "genai.interaction", match: { feature: "chat" }, unitPrice: "0.10" },
    ...FEATURES.map(([feature, unitPrice]) => ({
      product: "genai.interaction",
      match: { feature },
      unitPrice,
    })),
    { product: "genai.interaction", unitPrice: "0.01" },
  ]),
  ...parseTariffs([
    {
      tariffId: "viber-usd",
      currency: "USD",
      // From September in New York: a session priced at the later prices was priced too late (G8).
      versions: viberPriceRise("2025-08-01T00:00:00Z", "2025-09-01T04:00:00Z"),
    },
  ]),
];
const accounts = parseAccounts(
  [
    { accountId: "acme", name: "Acme", currency: "EUR", tariffId: "std" },
    { accountId: "nyc", name: "NYC", currency: "USD", tariffId: "viber-usd", timezone: "America/New_York" },
  ],
  tariffs,
);

const genai = (id: string, time: string, data: Record<string, unknown>) =>
  JSON.stringify({
    specversion: "1.0",
    id,
    source: "/genai/eu-1",
    type: "genai.interaction",
    subject: "acme",
    time,
    data,
  });

const view = (l: InvoiceLine) => [
  l.period,
  l.line_type,
  l.reference_period,
  l.product,
  l.dimensions,
  l.quantity,
  l.unit_price,
  l.amount,
];

describe("late-event adjustments through ingest and close", () => {
  const scenario = useLocalSystem({ at: "2025-07-01T00:00:00Z", config: { accounts, tariffs } });
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), "late-adjustments-"));
  });
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it("contract §1, G7: every allowed character of a dimension reaches the adjustment line and both exports unchanged", async () => {
    scenario.travelTo("2025-07-10T11:00:00Z"); // received after the usage happened
    await scenario.system.send(
      FEATURES.map(([feature], i) => genai(`jul-${i}`, "2025-07-10T10:00:00Z", { feature, model: `m|${i}` })),
    );
    expect(await scenario.system.drain()).toMatchObject({
      stored: FEATURES.length,
      "dead-lettered": 0,
      failed: 0,
    });
    scenario.travelTo("2025-08-01T13:00:00Z");
    await scenario.closePeriod("2025-07", ["acme"]);

    // Late July usage (two units each) and one refused value, then August's close.
    await scenario.system.send([
      ...FEATURES.map(([feature], i) =>
        genai(`late-${i}`, "2025-07-31T23:59:59Z", { feature, model: `m|${i}`, units: 2 }),
      ),
      genai("late-bad", "2025-07-31T23:59:59Z", { feature: "chat;v2" }),
    ]);
    expect(await scenario.system.drain()).toMatchObject({
      stored: FEATURES.length,
      "dead-lettered": 1,
      failed: 0,
    });
    const letters = await scenario.system.store.list();
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    expect(letter?.reason).toMatch(/^invalid data for genai.interaction: data\.feature: .*";"/);
    expect(JSON.parse(letter?.body ?? "{}").id).toBe("late-bad");

    scenario.travelTo("2025-09-01T13:00:00Z");
    const [report] = await scenario.closePeriod("2025-08", ["acme"]);
    const lines = await scenario.lines({ accountId: "acme" });
    const expected = FEATURES.flatMap(([feature, price], i) => {
      const dimensions = `feature=${feature};model=m|${i}`;
      const amount = (x: number) => (Number(price) * x).toFixed(2);
      return [
        ["2025-07", "usage", "2025-07", "genai.interaction", dimensions, "1", price, amount(1)],
        ["2025-08", "adjustment", "2025-07", "genai.interaction", dimensions, "2", price, amount(2)],
      ];
    });
    expect(lines.map(view).sort()).toEqual(expected.sort());
    expect(report?.adjustments).toEqual([{ referencePeriod: "2025-07", amount: "6.60", lines: 6 }]);

    // The finance exports: the CSV read back by an independent RFC 4180 reader equals the JSON export,
    // column for column, and both carry each value unchanged.
    await writeExports(out, { lines, reports: [], deadLetters: [], marketplaceUsage: [] });
    const csv = await readFile(join(out, "invoice-lines.csv"), "utf8");
    const json = JSON.parse(await readFile(join(out, "invoice-lines.json"), "utf8")) as InvoiceLine[];
    expect(csvRecords(csv)).toEqual(json);
    expect(json.map(view).sort()).toEqual(expected.sort());
    for (const [feature] of FEATURES) {
      const adjustment = json.find(
        (l) => l.line_type === "adjustment" && l.dimensions.startsWith(`feature=${feature};`),
      );
      expect(adjustment?.description).toContain(feature);
    }
  });

  it("§3.1, G7: a Viber session opened in a period closed before its first message is an adjustment for that period", async () => {
    const viber = (id: string, type: string, time: string, data: Record<string, unknown>) =>
      JSON.stringify({
        specversion: "1.0",
        id,
        source: "/viber/us-1",
        type,
        subject: "nyc",
        time,
        data: { endUserId: "u1", serviceId: "svc-1", ...data },
      });
    // The case: the end user writes at 17:05 on 31 August in New York …
    scenario.travelTo("2025-08-31T21:10:00Z"); // received after the usage happened
    await scenario.system.send([viber("in-1", "viber.inbound", "2025-08-31T17:05:00-04:00", {})]);
    expect(await scenario.system.drain()).toMatchObject({ stored: 1, failed: 0 });
    // … August is closed at 13:00 UTC on 1 September, with no session message yet: no session charge.
    scenario.travelTo("2025-09-01T13:00:00Z");
    const [august] = await scenario.closePeriod("2025-08", ["nyc"]);
    expect(august?.lines).toBe(0);
    // … and the first session message is delivered at 16:25 on 1 September, inside the 24 h session.
    scenario.travelTo("2025-09-01T20:30:00Z");
    await scenario.system.send([
      viber("out-1", "viber.message", "2025-09-01T16:25:00-04:00", {
        messageType: "session",
        delivered: true,
      }),
      viber("out-2", "viber.message", "2025-09-01T16:26:00-04:00", {
        messageType: "session",
        delivered: true,
      }),
    ]);
    expect(await scenario.system.drain()).toMatchObject({ stored: 2, failed: 0 });

    scenario.travelTo("2025-10-01T13:00:00Z");
    const [september] = await scenario.closePeriod("2025-09", ["nyc"]);
    const nyc = await scenario.lines({ accountId: "nyc" });
    // Charged for August (the inbound's period), priced at the inbound's time (version 2025-01-01),
    // billed on September's close; September itself has nothing (both messages are covered).
    expect(nyc.map((l) => [...view(l), l.tariff_version])).toEqual([
      ["2025-09", "adjustment", "2025-08", "viber.session", "", "1", "0.1", "0.10", "2025-01-01T00:00:00Z"],
    ]);
    expect(september?.adjustments).toEqual([{ referencePeriod: "2025-08", amount: "0.10", lines: 1 }]);
  });
});

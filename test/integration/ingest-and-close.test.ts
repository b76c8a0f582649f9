/**
 * End to end on real parts (DynamoDB Local, the SQS-compatible server, the event-source poller and
 * the real handlers): duplicates, conflicts and malformed messages in one batch (G1, G5, contract §1),
 * suspense (G10) and late events billed as adjustments on the next close (G7).
 */
import { describe, expect, it } from "vitest";
import { configOf, rawBody, stdTariffs, useLocalSystem } from "../support/scenario.js";
import { allLines } from "../support/table-scans.js";

const RATES = [
  { product: "sms.mt", match: { country: "TR" }, unitPrice: "0.012" },
  { product: "sms.mt", unitPrice: "0.05" },
  { product: "sms.mo", unitPrice: "0.005" },
];
const config = configOf(stdTariffs(RATES));
const { tariffs } = config;

/** A message from gateway /gw/eu-1; `over` may make it one the contract refuses. */
const msg = (id: string, time: string, data: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  rawBody({ id, source: "/gw/eu-1", time, data, ...over });
const tr = (to: string) => ({ to, country: "TR", status: "submitted" });

describe("ingest → close on the local stack", () => {
  // Messages are received after their usage happened (more than 24 hours ahead is refused).
  const scenario = useLocalSystem({ at: "2025-07-02T10:00:00Z", config });

  it("one batch with a duplicate, a conflict and five kinds of malformed message: exact totals, reasons kept, nothing lost", async () => {
    const good = [
      msg("a1", "2025-07-02T09:00:00Z", tr("1")),
      msg("a2", "2025-07-02T09:00:01Z", tr("2")),
      msg("a3", "2025-07-02T09:00:02Z", { to: "3", country: "DE", status: "submitted" }),
      msg("a4", "2025-07-02T09:00:03Z", { from: "4", country: "TR", status: "accepted" }, { type: "sms.mo" }),
      msg("a5", "2025-07-02T09:00:04Z", { to: "5", country: "TR", status: "rejected" }), // G1: free
      msg("a6", "2025-07-02T09:00:05Z", { to: "6", country: "FR", status: "submitted" }, { subject: "acme" }),
    ];
    const duplicate = good[0]!;
    const conflicting = msg("a2", "2025-07-02T09:00:01Z", tr("2-changed"));
    const malformed = [
      "{this is not json",
      msg("", "2025-07-02T09:00:00Z", tr("x")), // empty id
      msg("b2", "2025-07-02T09:00:00Z", tr("x"), { type: "fax.page" }), // unknown type
      msg("b3", "2025-07-02T09:00:00Z", { to: "x", country: "Turkey", status: "submitted" }), // bad data
      msg("b4", "2025-07-02T09:00:00Z", tr("x"), { subject: "nobody" }), // unknown account
    ];
    await scenario.system.send([...good, duplicate, conflicting, ...malformed]);
    const tally = await scenario.system.drain();
    expect(tally).toEqual({ stored: 6, duplicate: 1, conflict: 1, "dead-lettered": 5, failed: 0 });

    const letters = await scenario.system.store.list();
    expect(letters.map((l) => l.reason).sort()).toEqual(
      [
        expect.stringMatching(/^body is not JSON/),
        expect.stringMatching(/^invalid CloudEvents envelope: id:/),
        expect.stringMatching(/^invalid CloudEvents envelope: type:/),
        expect.stringMatching(/^invalid data for sms.mt: data.country:/),
        'unknown account "nobody" (subject)',
      ].sort(),
    );
    expect(letters.every((l) => l.excerpt.length > 0 && l.body === l.excerpt)).toBe(true);

    const [report] = await scenario.closeAt("2025-08-01T00:00:00Z", "2025-07");
    const lines = await allLines(scenario.system.store);
    const view = lines
      .map((l) => `${l.line_type} ${l.product} ${l.dimensions} ${l.quantity} ${l.unit_price} ${l.amount}`)
      .sort();
    expect(view).toEqual([
      "usage sms.mo country=TR 1 0.005 0.01",
      "usage sms.mt country=DE 1 0.05 0.05",
      "usage sms.mt country=FR 1 0.05 0.05",
      "usage sms.mt country=TR 2 0.012 0.02",
    ]);
    expect(report?.totals.amount).toBe("0.13");
    expect(report?.conflicts.samples).toEqual([
      { source: "/gw/eu-1", id: "a2", seenAt: "2025-07-02T10:00:00.000Z" },
    ]);
    // The three rejected messages that name acme are in its report; the unknown account's is not.
    expect(report?.rejectedMessages.samples.map((r) => r.reason.split(":")[0]).sort()).toEqual([
      "invalid CloudEvents envelope",
      "invalid CloudEvents envelope",
      "invalid data for sms.mt",
    ]);
    expect(report?.events).toBe(6);
  });

  it("a closed period is immutable; a late event is billed on the next close as an adjustment (G7)", async () => {
    const again = await scenario.closePeriod("2025-07");
    expect(again[0]?.status).toBe("already-closed");

    scenario.travelTo("2025-08-03T10:00:00Z");
    await scenario.ingest([
      msg("late-1", "2025-07-31T23:59:59Z", tr("late")),
      msg("aug-1", "2025-08-03T10:00:00Z", tr("aug")),
    ]);
    const [report] = await scenario.closeAt("2025-09-01T00:00:00Z", "2025-08");
    const aug = await scenario.lines({ period: "2025-08" });
    expect(
      aug
        .map(
          (l) =>
            `${l.line_type} ${l.reference_period} ${l.product} ${l.dimensions} ${l.quantity} ${l.unit_price} ${l.amount}`,
        )
        .sort(),
    ).toEqual([
      // July re-rated: 3 × 0.012 = 0.036 → 0.04, minus the 0.02 already billed
      "adjustment 2025-07 sms.mt country=TR 1 0.012 0.02",
      "usage 2025-08 sms.mt country=TR 1 0.012 0.01",
    ]);
    expect(report?.adjustments).toEqual([{ referencePeriod: "2025-07", amount: "0.02", lines: 1 }]);
    // The late marker is consumed: closing September finds nothing more to adjust.
    const [sept] = await scenario.closeAt("2025-10-01T00:00:00Z", "2025-09");
    expect(sept?.adjustments).toEqual([]);
  });

  it("an unpriced event is held in suspense with its reason, never dropped (G10)", async () => {
    scenario.travelTo("2025-10-02T09:00:00Z");
    await scenario.ingest([
      msg(
        "mms-1",
        "2025-10-02T09:00:00Z",
        { to: "1", country: "TR", status: "submitted" },
        { type: "mms.mt" },
      ),
      // Usage of a period that was never closed: listed in the report, never silently dropped.
      msg("may-1", "2025-05-20T09:00:00Z", tr("may")),
    ]);
    const [report] = await scenario.closeAt("2025-11-01T00:00:00Z", "2025-10");
    expect(report?.unclosedEarlierPeriods).toEqual([{ period: "2025-05", events: 1 }]);
    expect(report?.suspense.samples).toEqual([
      {
        product: "mms.mt",
        reason: "no rate for mms.mt (country=TR) in tariff std version 2025-01-01T00:00:00Z",
        quantity: "1",
        events: 1,
      },
    ]);
  });

  it("dead letters are redriven to the usage queue; once the account exists they are rated", async () => {
    await scenario.system.loadConfig(
      configOf(tariffs, ["acme", { accountId: "nobody", name: "Late account" }]),
    );
    const { redriveDeadLetters } = await import("../../shared/app/dead-letters.js");
    const r = await redriveDeadLetters(scenario.system.store, scenario.system.usageQueue);
    expect(r.redriven).toBe(5);
    const tally = await scenario.system.drain();
    expect(tally).toMatchObject({ stored: 1, "dead-lettered": 4 });
    expect((await scenario.system.store.list()).some((l) => l.reason.includes("nobody"))).toBe(false);
  });

  it("G10: once a rate exists, the next close re-rates the suspended period and bills it as an adjustment", async () => {
    await scenario.system.loadConfig(
      configOf(stdTariffs([...RATES, { product: "mms.mt", unitPrice: "0.20" }])),
    );
    const [report] = await scenario.closeAt("2025-12-01T00:00:00Z", "2025-11");
    expect(report?.suspenseCarried).toEqual([]);
    expect(report?.adjustments).toEqual([{ referencePeriod: "2025-10", amount: "0.20", lines: 1 }]);
    const nov = await scenario.lines({ period: "2025-11" });
    expect(
      nov.map((l) => `${l.line_type} ${l.reference_period} ${l.product} ${l.quantity} ${l.amount}`),
    ).toEqual(["adjustment 2025-10 mms.mt 1 0.20"]);
  });
});

// Issue 9, Done-when "a month with only late events" (G7): a month whose only usage is late events of
// the month before closes with nothing but that month's adjustment; the closed month's lines stay.
const describeLine = (l: {
  line_type: string;
  period: string;
  reference_period: string;
  quantity: string;
  amount: string;
}) => `${l.line_type} ${l.period} ${l.reference_period} ${l.quantity} ${l.amount}`;

describe("a month with only late events", () => {
  const scenario = useLocalSystem({ at: "2025-07-20T10:00:00Z", config });

  it("closes with the adjustment of the month before and nothing else; that month's lines stay as closed", async () => {
    await scenario.ingest([msg("jul-1", "2025-07-20T09:00:00Z", tr("jul-1"))]);
    const [july] = await scenario.closeAt("2025-08-01T03:00:00Z", "2025-07");
    expect(july?.totals.amount).toBe("0.01");
    const julyLines = (await scenario.system.store.linesForReference("acme", "2025-07")).map(describeLine);
    expect(julyLines).toEqual(["usage 2025-07 2025-07 1 0.01"]);

    // August: no usage of its own, only two more July messages arriving late.
    scenario.travelTo("2025-08-10T10:00:00Z");
    await scenario.ingest([
      msg("jul-2", "2025-07-31T22:00:00Z", tr("jul-2")),
      msg("jul-3", "2025-07-31T23:00:00Z", tr("jul-3")),
    ]);
    const [august] = await scenario.closeAt("2025-09-01T03:00:00Z", "2025-08");
    expect(august?.events).toBe(0);
    // July re-rated: 3 × 0.012 = 0.036 → 0.04, minus the 0.01 already billed.
    expect(august?.adjustments).toEqual([{ referencePeriod: "2025-07", amount: "0.03", lines: 1 }]);
    const lines = (await scenario.system.store.linesForReference("acme", "2025-07")).map(describeLine).sort();
    expect(lines).toEqual(["adjustment 2025-08 2025-07 2 0.03", "usage 2025-07 2025-07 1 0.01"]);
    expect(await scenario.system.store.linesForReference("acme", "2025-08")).toEqual([]);
  });
});

/**
 * Issue 9, Done-when "a month with only late events" (G7): a month whose only usage is late events
 * of the month before closes with nothing but the adjustment of that month; the closed month's own
 * lines are untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { parseAccounts, parseTariffs } from "../../shared/core/config.js";
import { VirtualClock } from "../../shared/ports/clock.js";

const tariffs = parseTariffs([
  {
    tariffId: "std",
    currency: "EUR",
    versions: [
      {
        publishedAt: "2024-12-01T00:00:00Z",
        effectiveFrom: "2025-01-01T00:00:00Z",
        rates: [{ product: "sms.mt", unitPrice: "0.012" }],
      },
    ],
  },
]);
const accounts = parseAccounts(
  [{ accountId: "acme", name: "Acme", currency: "EUR", tariffId: "std" }],
  tariffs,
);
const sms = (id: string, time: string) =>
  JSON.stringify({
    specversion: "1.0",
    id,
    source: "/gw/eu-1",
    type: "sms.mt",
    subject: "acme",
    time,
    data: { to: id, country: "TR", status: "submitted" },
  });
const describeLine = (l: {
  line_type: string;
  period: string;
  reference_period: string;
  quantity: string;
  amount: string;
}) => `${l.line_type} ${l.period} ${l.reference_period} ${l.quantity} ${l.amount}`;

describe("a month with only late events", () => {
  let system: LocalBillingSystem;
  const clock = new VirtualClock(Date.parse("2025-07-20T10:00:00Z"));
  beforeAll(async () => {
    system = await startLocalBillingSystem({ clock });
    await system.loadConfig({ accounts, tariffs });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it("closes with the adjustment of the month before and nothing else; that month's lines stay as closed", async () => {
    await system.send([sms("jul-1", "2025-07-20T09:00:00Z")]);
    await system.drain();
    clock.advanceTo(Date.parse("2025-08-01T03:00:00Z"));
    const [july] = await system.close("2025-07");
    expect(july?.totals.amount).toBe("0.01");
    const julyLines = (await system.store.linesForReference("acme", "2025-07")).map(describeLine);
    expect(julyLines).toEqual(["usage 2025-07 2025-07 1 0.01"]);

    // August: no usage of its own, only two more July messages arriving late.
    clock.advanceTo(Date.parse("2025-08-10T10:00:00Z"));
    await system.send([sms("jul-2", "2025-07-31T22:00:00Z"), sms("jul-3", "2025-07-31T23:00:00Z")]);
    await system.drain();
    clock.advanceTo(Date.parse("2025-09-01T03:00:00Z"));
    const [august] = await system.close("2025-08");
    expect(august?.events).toBe(0);
    // July re-rated: 3 × 0.012 = 0.036 → 0.04, minus the 0.01 already billed.
    expect(august?.adjustments).toEqual([{ referencePeriod: "2025-07", amount: "0.03", lines: 1 }]);
    const lines = (await system.store.linesForReference("acme", "2025-07")).map(describeLine).sort();
    expect(lines).toEqual(["adjustment 2025-08 2025-07 2 0.03", "usage 2025-07 2025-07 1 0.01"]);
    expect(await system.store.linesForReference("acme", "2025-08")).toEqual([]);
  });
});

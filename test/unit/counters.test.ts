/**
 * The monthly counters reproduce the rating exactly: for any mix of events, rating the stateful
 * events with the counters of the counted ones (each contribution derived from that event alone)
 * gives the same invoice lines, suspense and event count as rating every event (counters.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { COUNTED_TYPES, type CounterDelta, contributionOf } from "../../shared/core/rating/counters.js";
import { ratePeriod } from "../../shared/core/rating/engine.js";
import { invoiceLinesToCsv, sortInvoiceLines, toInvoiceLine } from "../../shared/core/rating/invoice.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { periodOf } from "../../shared/core/time.js";
import { countedEventArb as extraArb } from "../support/counted-events.js";
import { account, ev, tariff } from "../support/events.js";
import { eventArb } from "../support/mixed-events.js";
import { mixedTariffVersion } from "../support/mixed-tariff.js";

const a = account({ commitments: [{ serviceId: "svc-1", minimumAmount: "5.00" }] });
// A second version mid-July: counters must keep each event under the version in force at its time (G8).
const t = tariff([
  mixedTariffVersion,
  {
    ...mixedTariffVersion,
    publishedAt: "2025-06-01T00:00:00Z",
    effectiveFrom: "2025-07-15T12:00:00Z",
    rates: [
      ...mixedTariffVersion.rates.filter((r) => r.product !== "sms.mt" || r.match?.country !== "TR"),
      { product: "sms.mt", match: { country: "TR" }, unitPrice: "0.013" },
      { product: "email.message", unitPrice: "0.001" },
    ],
  },
]);

function viaCounters(events: readonly LedgerEvent[], periodId: string) {
  const stateful: LedgerEvent[] = [];
  const counters: CounterDelta[] = [];
  let counted = 0;
  for (const e of events) {
    const c = contributionOf(a, t, e);
    if (!c.counted) stateful.push(e);
    else if (c.period === periodId) {
      counters.push(...c.deltas);
      counted += 1;
    }
  }
  return ratePeriod({
    account: a,
    tariff: t,
    periodId,
    events: stateful,
    counters: { counters, events: counted },
  });
}

const view = (r: ReturnType<typeof ratePeriod>) => ({
  csv: invoiceLinesToCsv(
    sortInvoiceLines(r.lines.map((l) => toInvoiceLine(a, "EUR", "2025-07", "2025-07", l))),
  ),
  suspense: r.suspense
    .map((s) => `${s.product}|${s.reason}|${s.quantity.toFixed()}|${s.events ?? 1}`)
    .sort()
    .join("\n"),
  events: r.eventCount,
});
const suspenseTotals = (r: ReturnType<typeof ratePeriod>) => {
  const m = new Map<string, string>();
  for (const s of r.suspense) {
    const k = `${s.product}|${s.reason}`;
    const [q, n] = (m.get(k) ?? "0|0").split("|").map(Number) as [number, number];
    m.set(k, `${q + s.quantity.toNumber()}|${n + (s.events ?? 1)}`);
  }
  return [...m].sort();
};

describe("monthly counters", () => {
  it("rating stateful events plus counters equals rating every event (lines, suspense, event count)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(eventArb, extraArb), { minLength: 1, maxLength: 150, size: "max" }),
        (events) => {
          for (const p of ["2025-06", "2025-07", "2025-08"]) {
            const all = ratePeriod({ account: a, tariff: t, periodId: p, events });
            const split = viaCounters(events, p);
            expect(view(split).csv).toBe(view(all).csv);
            expect(split.eventCount).toBe(all.eventCount);
            expect(suspenseTotals(split)).toEqual(suspenseTotals(all));
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  it("derives a counted event's contribution from the rules, and keeps the others raw", () => {
    const sms = ev("sms.mt", "2025-07-20T10:00:00Z", { to: "1", country: "TR", status: "submitted" });
    const c = contributionOf(a, t, sms);
    expect(c).toMatchObject({ counted: true, period: "2025-07" });
    if (!c.counted) throw new Error("counted");
    expect(c.deltas.map((d) => [d.kind, d.product, d.dimensions, d.version, d.quantity.toFixed()])).toEqual([
      ["charge", "sms.mt", { country: "TR" }, "2025-07-15T12:00:00Z", "1"],
    ]);
    const rejected = contributionOf(a, t, {
      ...sms,
      data: { ...sms.data, status: "rejected" },
    } as LedgerEvent);
    expect(rejected).toMatchObject({ counted: true, deltas: [] }); // counted as an event, charges nothing (G1)
    const call = ev("voice.call", "2025-07-20T10:00:00Z", {
      callId: "c",
      service: "calls",
      direction: "outbound",
      country: "US",
      answered: true,
      durationSeconds: 9,
    });
    expect(contributionOf(a, t, call).counted).toBe(false);
    // No version in force at its time: the suspense reason names the instant, so it stays a raw event.
    expect(contributionOf(a, t, ev("sms.mt", "2024-07-20T10:00:00Z", sms.data)).counted).toBe(false);
    // Marketplace accounts keep raw events for the hourly reporter.
    const azure = { ...a, billingChannel: "azure-marketplace" as const };
    expect(contributionOf(azure, t, sms).counted).toBe(false);
    expect(periodOf(sms.t, a.timezone)).toBe("2025-07");
    expect(COUNTED_TYPES.has("voice.call")).toBe(false);
  });
});

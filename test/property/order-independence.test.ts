/**
 * G6 by construction: rating is a pure function of the set of ledger events, so any order of the
 * same events gives byte-identical invoice lines. Stateful rules (windows, sessions, peaks, distinct
 * sets, resources) are all in the mix. Duplicates and re-batching go through the real ingest path in
 * test/integration/order-independence.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ratePeriod } from "../../shared/core/rating/engine.js";
import { invoiceLinesToCsv, sortInvoiceLines, toInvoiceLine } from "../../shared/core/rating/invoice.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { account, ev, tariff } from "../support/events.js";
import { mixedTariffVersion } from "../support/mixed-tariff.js";

const users = ["u1", "u2", "u3"];
const base = Date.parse("2025-06-30T20:00:00Z");
const HOUR = 3_600_000;

/** One random usage event of the mix, at a random instant around the July period. */
const eventArb = fc
  .record({
    kind: fc.integer({ min: 0, max: 16 }),
    hour: fc.integer({ min: 0, max: 24 * 33 }),
    minute: fc.integer({ min: 0, max: 3 }),
    user: fc.constantFrom(...users),
    flag: fc.boolean(),
    n: fc.integer({ min: 1, max: 130 }),
  })
  .map(({ kind, hour, minute, user, flag, n }) => {
    const time = new Date(base + hour * HOUR + minute * 60_000).toISOString();
    switch (kind) {
      case 0:
        return ev("sms.mt", time, { to: user, country: flag ? "TR" : "DE", status: n % 5 ? "submitted" : "rejected", blocked: n % 7 === 0 });
      case 1:
        return ev("sms.mo", time, { from: user, country: "TR", status: "accepted" });
      case 2:
        return ev("whatsapp.inbound", time, { endUserId: user, senderId: "wa1" });
      case 3:
        return ev("whatsapp.message", time, { endUserId: user, senderId: "wa1", kind: flag ? "template" : "freeform", category: ["marketing", "utility", "authentication"][n % 3], delivered: n % 4 !== 0 });
      case 4:
        return ev("viber.inbound", time, { endUserId: user, serviceId: "svc-1" });
      case 5:
        return ev("viber.message", time, { endUserId: user, serviceId: "svc-1", messageType: flag ? "session" : "promotional", delivered: true });
      case 6:
        return ev("viber_bot.inbound", time, { endUserId: user, botId: "b1" });
      case 7:
        return ev("viber_bot.message", time, { endUserId: user, botId: "b1", delivered: true });
      case 8:
        return ev("answers.message", time, { botId: "b1", endUserId: user, direction: flag ? "inbound" : "outbound" });
      case 9:
        return ev("answers.session_ended", time, { botId: "b1", endUserId: user, reason: "completed" });
      case 10:
        return ev("moments.flow_entered", time, { endUserId: user, flowId: flag ? "f1" : "f2" });
      case 11:
        return ev("conversations.user", time, { userId: user, action: flag ? "added" : "removed" });
      case 12:
        return ev("messenger.message", time, { endUserId: user, delivered: flag });
      case 13:
        return ev("voice.call", time, { callId: `c${n}`, service: "calls", direction: "outbound", country: "US", answered: flag, durationSeconds: n, amd: n % 2 === 0 });
      case 14:
        return ev("genai.interaction", time, { feature: "summary", units: n % 3 + 1 });
      case 15:
        return ev(flag ? "resource.activated" : "resource.deactivated", time, { resourceId: `n${n % 3}`, resourceType: "number", numberType: "long", country: "US" });
      default:
        return ev("conversations.message", time, { conversationId: `c${n % 4}`, direction: flag ? "inbound" : "outbound" });
    }
  });

const a = account({ commitments: [{ serviceId: "svc-1", minimumAmount: "5.00" }] });
const t = tariff([mixedTariffVersion]);
const invoice = (events: readonly LedgerEvent[]) => {
  const r = ratePeriod({ account: a, tariff: t, periodId: "2025-07", events });
  return invoiceLinesToCsv(sortInvoiceLines(r.lines.map((l) => toInvoiceLine(a, "EUR", "2025-07", "2025-07", l))));
};

describe("G6 order independence", () => {
  it("any permutation of the same events gives byte-identical invoice lines", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 80 }), fc.integer(), (events, seed) => {
        const shuffled = fc.sample(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), { numRuns: 1, seed })[0]!;
        expect(invoice(shuffled)).toBe(invoice(events));
      }),
      { numRuns: 300 },
    );
  });
  it("the generator really exercises the stateful rules (guards against a vacuous property)", () => {
    const sample = fc.sample(fc.array(eventArb, { minLength: 60, maxLength: 80 }), { numRuns: 20, seed: 42 });
    const products = new Set(sample.flatMap((events) => invoice(events).split("\n").slice(1).map((l) => l.split(",")[4])));
    for (const p of ["sms.mt", "whatsapp.template", "viber.message", "moments.engaged_people", "messenger.active_user", "voice.minute"])
      expect(products).toContain(p);
  });
});

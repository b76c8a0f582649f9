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
import { account, tariff } from "../support/events.js";
import { eventArb } from "../support/mixed-events.js";
import { mixedTariffVersion } from "../support/mixed-tariff.js";

const a = account({ commitments: [{ serviceId: "svc-1", minimumAmount: "5.00" }] });
const t = tariff([mixedTariffVersion]);
const invoice = (events: readonly LedgerEvent[]) => {
  const r = ratePeriod({ account: a, tariff: t, periodId: "2025-07", events });
  return invoiceLinesToCsv(
    sortInvoiceLines(r.lines.map((l) => toInvoiceLine(a, "EUR", "2025-07", "2025-07", l))),
  );
};

describe("G6 order independence", () => {
  it("any permutation of the same events gives byte-identical invoice lines", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 80 }), fc.integer(), (events, seed) => {
        const shuffled = fc.sample(
          fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
          { numRuns: 1, seed },
        )[0]!;
        expect(invoice(shuffled)).toBe(invoice(events));
      }),
      { numRuns: 300 },
    );
  });
  it("the generator really exercises the stateful rules (guards against a vacuous property)", () => {
    const sample = fc.sample(fc.array(eventArb, { minLength: 60, maxLength: 80 }), { numRuns: 20, seed: 42 });
    const products = new Set(
      sample.flatMap((events) =>
        invoice(events)
          .split("\n")
          .slice(1)
          .map((l) => l.split(",")[4]),
      ),
    );
    for (const p of [
      "sms.mt",
      "whatsapp.template",
      "viber.message",
      "moments.engaged_people",
      "messenger.active_user",
      "voice.minute",
    ])
      expect(products).toContain(p);
  });
});

/**
 * Explanations of invoice lines, pure: the engine rates a period, the invoice lines are made
 * as the close makes them, and each line's explanation must name the contributors pricing used
 * (contract §3, §4), the rating-rules row, the rate or package, and at most 20 sample identities.
 */
import { describe, expect, it } from "vitest";
import { dec } from "../../shared/core/money.js";
import type { PeriodCounters } from "../../shared/core/rating/counters.js";
import { ratePeriod } from "../../shared/core/rating/engine.js";
import {
  explainAdjustment,
  explainLines,
  type LineExplanation,
} from "../../shared/core/rating/explain/explain.js";
import { adjustmentLines, toInvoiceLine } from "../../shared/core/rating/invoice.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { account, ev, tariff, v2025 } from "../support/events.js";

const a = account({ commitments: [{ serviceId: "svc", minimumAmount: "5.00" }] });
const t = tariff([
  v2025(
    [
      { product: "sms.mt", match: { country: "TR" }, unitPrice: "0.05" },
      { product: "messenger.active_user", unitPrice: "0.20" },
      { product: "viber.message", unitPrice: "0.01" },
      { product: "email.message", unitPrice: "0.001" },
    ],
    [{ product: "answers.active_sessions", includedQuantity: 10, fee: "30.00", overageUnitPrice: "1.00" }],
  ),
]);
const P = "2025-07";
const sms = (id: string, minute: number, blocked = false) =>
  ev(
    "sms.mt",
    `2025-07-02T10:${String(minute).padStart(2, "0")}:00Z`,
    { to: "+905551234567", country: "TR", status: "submitted", blocked },
    { id, source: "/sms" },
  );

function explained(events: LedgerEvent[], counters?: PeriodCounters): LineExplanation[] {
  const rating = ratePeriod({
    account: a,
    tariff: t,
    periodId: P,
    events,
    ...(counters ? { counters } : {}),
  });
  const lines = rating.lines.map((l) => toInvoiceLine(a, "EUR", P, P, l));
  return explainLines({ account: a, tariff: t, rating }, lines);
}
const find = (xs: LineExplanation[], lineType: string, product: string) => {
  const x = xs.find((e) => e.lineType === lineType && e.product === product);
  if (!x)
    throw new Error(`no ${lineType} ${product} in ${JSON.stringify(xs.map((e) => [e.lineType, e.product]))}`);
  return x;
};

describe("explanations of a period's lines", () => {
  const cases: {
    name: string;
    events: LedgerEvent[];
    counters?: PeriodCounters;
    lineType: string;
    product: string;
    expected: Partial<LineExplanation> & { sampleIds?: string[] };
  }[] = [
    {
      name: "§3 per-event: every event a sample, events counted, the rate entry",
      events: [sms("b", 2), sms("a", 1)],
      lineType: "usage",
      product: "sms.mt",
      expected: {
        quantity: "2",
        derivation: {
          summary: "2 charges from 2 events, Σ quantity = 2 message; this line: 2",
          charges: 2,
          events: 2,
          chargedQuantity: "2",
          figures: [],
        },
        tariff: {
          tariffId: "t1",
          version: { effectiveFrom: "2025-01-01T00:00:00Z", publishedAt: "2024-12-01T00:00:00Z" },
          entry: { kind: "rate", product: "sms.mt", match: { country: "TR" }, unitPrice: "0.05" },
        },
        sampleIds: ["a", "b"],
      },
    },
    {
      name: "bounded: 25 events give 20 samples (the earliest) and the whole count",
      events: Array.from({ length: 25 }, (_, i) => sms(`s${String(i).padStart(2, "0")}`, i)),
      lineType: "usage",
      product: "sms.mt",
      expected: {
        quantity: "25",
        sampleIds: Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(2, "0")}`),
      },
    },
    {
      name: "G2: a blocked message is an informational line whose samples are the blocked events",
      events: [sms("ok", 1), sms("blk", 2, true)],
      lineType: "informational",
      product: "sms.mt",
      expected: { quantity: "1", sampleIds: ["blk"] },
    },
    {
      name: "§3 distinct users: the rule's figure, and the delivered events it counts as samples",
      events: [
        ev("messenger.message", "2025-07-03T00:00:00Z", { endUserId: "u1", delivered: true }, "m1"),
        ev("messenger.message", "2025-07-03T00:01:00Z", { endUserId: "u2", delivered: false }, "m2"),
        ev("messenger.message", "2025-07-03T00:02:00Z", { endUserId: "u3", delivered: true }, "m3"),
      ],
      lineType: "usage",
      product: "messenger.active_user",
      expected: { quantity: "2", sampleIds: ["m1", "m3"] },
    },
    {
      name: "§2 package fee: the package, no samples",
      events: [],
      lineType: "package_fee",
      product: "answers.active_sessions",
      expected: {
        quantity: "1",
        tariff: {
          tariffId: "t1",
          version: { effectiveFrom: "2025-01-01T00:00:00Z", publishedAt: "2024-12-01T00:00:00Z" },
          entry: {
            kind: "package",
            product: "answers.active_sessions",
            includedQuantity: 10,
            fee: "30.00",
            overageUnitPrice: "1.00",
          },
        },
        sampleIds: [],
      },
    },
    {
      name: "§3.1 commitment true-up: the sender's charges, the commitment entry",
      events: [
        ev(
          "viber.message",
          "2025-07-04T00:00:00Z",
          { endUserId: "u", serviceId: "svc", messageType: "transactional", delivered: true },
          "v1",
        ),
      ],
      lineType: "commitment_true_up",
      product: "viber.commitment",
      expected: {
        tariff: {
          tariffId: "t1",
          version: { effectiveFrom: "2025-01-01T00:00:00Z", publishedAt: "2024-12-01T00:00:00Z" },
          entry: { kind: "commitment", serviceId: "svc", minimumAmount: "5.00" },
        },
        sampleIds: ["v1"],
      },
    },
    {
      name: "counted at ingest: the counter's events and its kept samples",
      events: [],
      counters: {
        events: 1200,
        counters: [
          {
            kind: "charge",
            product: "email.message",
            dimensions: {},
            version: "2025-01-01T00:00:00Z",
            reason: "",
            quantity: dec(1200),
            events: 1200,
            samples: [
              { source: "/mail", id: "late", time: "2025-07-30T00:00:00Z", storedAt: 2 },
              { source: "/mail", id: "first", time: "2025-07-01T00:00:00Z", storedAt: 1 },
            ],
          },
        ],
      },
      lineType: "usage",
      product: "email.message",
      expected: { quantity: "1200", sampleIds: ["first", "late"] },
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const x = find(explained(c.events, c.counters), c.lineType, c.product);
      const { sampleIds, ...rest } = c.expected;
      expect(x).toMatchObject(rest);
      if (sampleIds) expect(x.samples.map((s) => s.id)).toEqual(sampleIds);
      expect(x.samples.length).toBeLessThanOrEqual(20);
      expect(x.rule.section).toMatch(/^§|^G/);
    });

  it("is deterministic: the same events in any order give the same explanations", () => {
    const events = [sms("a", 1), sms("b", 2), sms("c", 3, true)];
    expect(explained([...events].reverse())).toEqual(explained(events));
  });
});

describe("explanation of an adjustment (G7)", () => {
  it("names the lines it corrects, before and after, and only the late events", () => {
    const before = ratePeriod({ account: a, tariff: t, periodId: P, events: [sms("a", 1)] });
    const emitted = before.lines.map((l) => toInvoiceLine(a, "EUR", P, P, l));
    const rerated = ratePeriod({ account: a, tariff: t, periodId: P, events: [sms("a", 1), sms("late", 5)] });
    const [adj] = adjustmentLines(a, "EUR", "2025-08", P, emitted, rerated.lines).filter(
      (l) => l.product === "sms.mt",
    );
    const x = explainAdjustment(
      { account: a, tariff: t, rating: rerated },
      adj!,
      emitted,
      (s) => s.id === "late",
    );
    expect(x.adjustment).toEqual({
      referencePeriod: P,
      corrects: emitted.filter((l) => l.product === "sms.mt").map((l) => l.line_id),
      correctsCount: 1,
      before: { quantity: "1", amount: "0.05" },
      after: { quantity: "2", amount: "0.1" },
      lateEvents: [{ source: "/sms", id: "late", time: "2025-07-02T10:05:00Z", quantity: "1" }],
    });
    expect(x.rule.lineType).toMatch(/^G7/);
    expect(x.samples.map((s) => s.id)).toEqual(["a", "late"]);
  });
});

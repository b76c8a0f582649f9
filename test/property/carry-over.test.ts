/**
 * Carry-over snapshots: rating month N from (the snapshot at its start + its own events) gives
 * the same lines, suspense, compliance figures and event count as rating it from the whole history,
 * for every family that carries state across a period edge (resources, Viber sessions, Viber Bot
 * CSW, WhatsApp windows and conversations in both regimes, USSD/Sangdam session ids, named users,
 * Answers sessions, recordings across the edge, storage days, SIP trunk fair use) — both with the
 * snapshot built from the whole history and with the close's chain (snapshot of N−1 + N−1's events).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Account } from "../../shared/contract/accounts.js";
import { productCodes } from "../../shared/core/catalogue.js";
import { cumulativeByDimension } from "../../shared/core/marketplace/usage.js";
import { type CarriedFacts, carryOver } from "../../shared/core/rating/carry.js";
import { type RatePeriodInput, ratePeriod } from "../../shared/core/rating/engine.js";
import { canonicalOrder } from "../../shared/core/rating/ordering.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { periodWindow } from "../../shared/core/time.js";
import { account, ev, tariff } from "../support/events.js";
import { mixedTariffVersion } from "../support/mixed-tariff.js";
import { historyArb, MONTHS } from "../support/stateful-events.js";

const HOUR = 3_600_000;

const t = tariff([mixedTariffVersion]);
const json = (x: unknown) =>
  JSON.stringify(x, (_k, v) => (v instanceof Object && v.constructor?.name === "Decimal" ? String(v) : v));
const rating = (a: Account, input: Omit<RatePeriodInput, "account" | "tariff">) => {
  const r = ratePeriod({ account: a, tariff: t, ...input });
  return json({ lines: r.lines, suspense: r.suspense, compliance: r.compliance, events: r.eventCount });
};

function checkHistory(a: Account, events: LedgerEvent[]) {
  let chained: CarriedFacts | undefined;
  for (const [i, month] of MONTHS.entries()) {
    const w = periodWindow(month, a.timezone);
    const prev = i > 0 ? periodWindow(MONTHS[i - 1]!, a.timezone) : undefined;
    chained = carryOver(
      a,
      month,
      events.filter((e) => e.t < w.start && (!chained || !prev || e.t >= prev.start)),
      chained,
    );
    const fromHistory = carryOver(
      a,
      month,
      events.filter((e) => e.t < w.start),
    );
    const full = rating(a, { periodId: month, events });
    const own = events.filter((e) => e.t >= w.start);
    expect(rating(a, { periodId: month, events: own, carried: fromHistory })).toBe(full);
    expect(rating(a, { periodId: month, events: own, carried: chained })).toBe(full);
    // The snapshot is small: never more than the history before the period.
    expect(chained.events.length).toBeLessThanOrEqual(events.filter((e) => e.t < w.start).length);
  }
}

describe("carry-over snapshot", () => {
  for (const tz of ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"]) {
    const a = account({
      timezone: tz,
      commitments: [{ serviceId: "svc-1", minimumAmount: "5.00" }],
      settings: { answersSessionTimeoutMinutes: tz === "UTC" ? 90 : 1440, recordingLimit: 1 },
    });
    it(`rating a month from its snapshot equals rating it from the whole history (${tz})`, () => {
      fc.assert(
        fc.property(historyArb(tz), (events) => {
          checkHistory(a, events);
        }),
        { numRuns: 150 },
      );
    });
  }

  it("the Marketplace reporter's month-to-date quantities from the snapshot equal those from the whole history, at any hour", () => {
    // Every product the mix can charge maps to a dimension of its own name.
    const a: Account = {
      ...account({ settings: { answersSessionTimeoutMinutes: 90, recordingLimit: 1 } }),
      billingChannel: "azure-marketplace",
      azure: {
        resourceId: "res",
        planId: "plan",
        dimensions: Object.fromEntries(productCodes.map((p) => [p, p])),
        includedQuantities: {},
      },
    };
    const shown = (m: Map<string, { toString(): string }>) =>
      JSON.stringify([...m].map(([d, q]) => [d, q.toString()]).sort());
    let nonEmpty = 0;
    fc.assert(
      fc.property(historyArb("UTC"), fc.integer({ min: 0, max: 31 * 24 + 6 }), (events, hour) => {
        const ordered = canonicalOrder(events);
        let chained: CarriedFacts | undefined;
        for (const [i, month] of MONTHS.entries()) {
          const w = periodWindow(month, "UTC");
          const prev = i > 0 ? periodWindow(MONTHS[i - 1]!, "UTC") : undefined;
          chained = carryOver(
            a,
            month,
            events.filter((e) => e.t < w.start && (!chained || !prev || e.t >= prev.start)),
            chained,
          );
          // The reporter reads the month's events on (and the next month's, for the look-ahead).
          const own = ordered.filter((e) => e.t >= w.start);
          const until = w.start + hour * HOUR;
          const full = cumulativeByDimension(a, w, ordered, until);
          if (full.size > 0) nonEmpty += 1;
          expect(shown(cumulativeByDimension(a, w, own, until, chained))).toBe(shown(full));
        }
      }),
      { numRuns: 100 },
    );
    expect(nonEmpty).toBeGreaterThan(50);
  });

  it("the snapshot carries state across the edge (guards against a vacuous property)", () => {
    const a = account({ settings: { answersSessionTimeoutMinutes: 90, recordingLimit: 1 } });
    const samples = fc.sample(historyArb("UTC"), {
      numRuns: 300,
      seed: 7,
    });
    const carriedTypes = new Set<string>();
    let answers = 0;
    let settled = 0;
    for (const events of samples)
      for (const month of MONTHS.slice(1)) {
        const w = periodWindow(month, "UTC");
        const s = carryOver(
          a,
          month,
          events.filter((e) => e.t < w.start),
        );
        for (const e of s.events) carriedTypes.add(e.type);
        answers += s.answersSessions?.length ?? 0;
        settled += s.storageDaysSettled?.length ?? 0;
      }
    for (const type of [
      "viber.inbound",
      "viber_bot.inbound",
      "whatsapp.inbound",
      "whatsapp.message",
      "ussd.session",
      "conversations.user",
      "resource.activated",
      "voice.call",
    ])
      expect(carriedTypes).toContain(type);
    expect(answers).toBeGreaterThan(0);
    expect(settled).toBeGreaterThan(0);
  });
});

describe("carry-over examples across the edge", () => {
  const a = account({ settings: { answersSessionTimeoutMinutes: 60 } });
  const S = Date.parse("2025-07-01T00:00:00Z");
  const at = (h: number) => new Date(S + h * HOUR).toISOString();
  const check = (events: LedgerEvent[]) => {
    const snapshot = carryOver(
      a,
      "2025-07",
      events.filter((e) => e.t < S),
    );
    const own = events.filter((e) => e.t >= S);
    const full = rating(a, { periodId: "2025-07", events });
    expect(rating(a, { periodId: "2025-07", events: own, carried: snapshot })).toBe(full);
    // Without the snapshot the result would differ: the state really comes from before the edge.
    expect(rating(a, { periodId: "2025-07", events: own })).not.toBe(full);
    return snapshot;
  };
  it("a Viber session opened before the edge covers a session message after it", () => {
    const s = check([
      ev("viber.inbound", at(-2), { endUserId: "u1", serviceId: "svc-1" }),
      ev("viber.message", at(1), {
        endUserId: "u1",
        serviceId: "svc-1",
        messageType: "session",
        delivered: true,
      }),
    ]);
    expect(s.events.map((e) => e.type)).toEqual(["viber.inbound"]);
  });
  it("a Viber session with 59 messages before the edge covers one more after it", () => {
    const msg = (t: number) =>
      ev("viber.message", new Date(t).toISOString(), {
        endUserId: "u1",
        serviceId: "svc-1",
        messageType: "session",
        delivered: true,
      });
    check([
      ev("viber.inbound", at(-4), { endUserId: "u1", serviceId: "svc-1" }),
      ...Array.from({ length: 59 }, (_, i) => msg(S - 3 * HOUR + i * 60_000)),
      msg(S + HOUR),
      msg(S + 2 * HOUR),
    ]);
  });
  it("a WhatsApp CSW opened before the edge makes a utility template after it free", () => {
    check([
      ev("whatsapp.inbound", at(-3), { endUserId: "u1", senderId: "wa1" }),
      ev("whatsapp.message", at(2), {
        endUserId: "u1",
        senderId: "wa1",
        kind: "template",
        category: "utility",
        delivered: true,
      }),
    ]);
  });
  it("Answers sessions open at the edge and named users provisioned before it", () => {
    check(
      ["u1", "u2", "u3"].flatMap((u) => [
        ev("answers.message", at(-0.5), { botId: "b1", endUserId: u, direction: "inbound" }),
        ev("answers.message", at(0.25), { botId: "b1", endUserId: u, direction: "inbound" }),
      ]),
    );
    check(["u1", "u2"].map((u) => ev("conversations.user", at(-100), { userId: u, action: "added" })));
  });
  it("a number active before the edge is billed monthly, its setup fee only once", () => {
    const s = check([
      ev("resource.activated", at(-500), {
        resourceId: "n1",
        resourceType: "number",
        numberType: "long",
        country: "US",
      }),
      ev("resource.activated", at(-300), {
        resourceId: "n1",
        resourceType: "number",
        numberType: "mobile",
        country: "US",
      }),
      ev("resource.activated", at(-200), {
        resourceId: "n1",
        resourceType: "number",
        numberType: "long",
        country: "US",
      }),
    ]);
    expect(s.events).toHaveLength(2);
  });
});

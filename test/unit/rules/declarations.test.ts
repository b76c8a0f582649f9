/**
 * The rules' declarations (rules/index.ts) are the one source of what an event changes: counters,
 * snapshots, late marking and re-rating are derived from them. These checks hold each declaration
 * to what its rule really does, so a rule that reads or carries an undeclared type fails here.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  changesLaterPeriods,
  productRuleDeclarations,
  productRules,
  usageEventTypes,
} from "../../../shared/core/products/index.js";
import { carryOver } from "../../../shared/core/rating/carry.js";
import { COUNTED_TYPES } from "../../../shared/core/rating/counters.js";
import { periodsChangedBy } from "../../../shared/core/rating/engine.js";
import { canonicalOrder } from "../../../shared/core/rating/ordering.js";
import type { LedgerEvent } from "../../../shared/core/rating/types.js";
import { periodWindow } from "../../../shared/core/time.js";
import { account, ev } from "../../support/events.js";
import { eventArb as mixedEventArb } from "../../support/mixed-events.js";
import { eventArb, FAMILIES, MONTHS } from "../../support/stateful-events.js";

const a = account({
  commitments: [{ serviceId: "svc-1", minimumAmount: "5.00" }],
  settings: { answersSessionTimeoutMinutes: 90, recordingLimit: 1 },
});
const anyEvents = fc.array(fc.oneof(eventArb("UTC", FAMILIES.flat()), mixedEventArb), {
  minLength: 1,
  maxLength: 60,
});
const json = (x: unknown) =>
  JSON.stringify(x, (_k, v) => (v instanceof Object && v.constructor?.name === "Decimal" ? String(v) : v));

describe("product rule declarations", () => {
  it("every usage event type is read by a declared rule", () => {
    const declared = new Set(
      productRuleDeclarations.flatMap((r) => [...(r.perEvent ?? []), ...(r.together ?? [])]),
    );
    expect(usageEventTypes.filter((t) => !declared.has(t))).toEqual([]);
    expect(productRules).toEqual(productRuleDeclarations.map((r) => r.rate));
  });

  it("a rule carries only types it reads", () => {
    for (const r of productRuleDeclarations)
      for (const t of r.carries?.types ?? [])
        expect([...(r.together ?? []), ...(r.perEvent ?? [])]).toContain(t);
  });

  it("a rule's output depends only on the types it declares", () => {
    fc.assert(
      fc.property(anyEvents, fc.constantFrom(...MONTHS), (events, month) => {
        const period = periodWindow(month, "UTC");
        const all = canonicalOrder(events.filter((e) => e.t < period.end));
        for (const r of productRuleDeclarations) {
          const declared = new Set([...(r.perEvent ?? []), ...(r.together ?? [])]);
          const own = all.filter((e) => declared.has(e.type));
          expect(json(r.rate({ account: a, period, events: own })), r.name).toBe(
            json(r.rate({ account: a, period, events: all })),
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it("the snapshot keeps only events of types declared as carried (their late events reach later periods)", () => {
    fc.assert(
      fc.property(anyEvents, fc.constantFrom(...MONTHS.slice(1)), (events, month) => {
        const start = periodWindow(month, "UTC").start;
        const snapshot = carryOver(
          a,
          month,
          events.filter((e: LedgerEvent) => e.t < start),
        );
        for (const e of snapshot.events) expect(changesLaterPeriods(e.type), e.type).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("counted types are exactly the event types no rule reads together with others or carries", () => {
    // From the contract's types, not from the `perEvent` lists the counted types are built from: a
    // type no rule declares would be expected here and is not counted. Whether counting a type keeps
    // its lines is test/unit/counters.test.ts's (rating with counters = rating every event).
    const readWithOthers = new Set(
      productRuleDeclarations.flatMap((r) => [...(r.together ?? []), ...(r.carries?.types ?? [])]),
    );
    expect([...COUNTED_TYPES].sort()).toEqual(usageEventTypes.filter((t) => !readWithOthers.has(t)).sort());
    expect(COUNTED_TYPES.size).toBeGreaterThan(0);
    for (const t of COUNTED_TYPES) expect(changesLaterPeriods(t), t).toBe(false);
  });

  it("the periods an event changes: its own, a Viber session opener's, and whether later ones", () => {
    const session = ev("viber.message", "2025-07-01T05:00:00Z", {
      endUserId: "u1",
      serviceId: "svc-1",
      messageType: "session",
      delivered: true,
    });
    expect(periodsChangedBy(session, "UTC")).toEqual(["2025-06", "2025-07"]);
    const sms = ev("sms.mt", "2025-07-01T05:00:00Z", { to: "1", country: "TR", status: "submitted" });
    expect(periodsChangedBy(sms, "UTC")).toEqual(["2025-07"]);
    for (const t of [
      "resource.activated",
      "resource.deactivated",
      "whatsapp.inbound",
      "whatsapp.message",
      "viber.inbound",
      "viber.message",
      "viber_bot.inbound",
      "answers.message",
      "answers.session_ended",
      "ussd.session",
      "kakao.sangdam_session",
      "conversations.user",
      "voice.call",
      "recording.storage",
    ] as const)
      expect(changesLaterPeriods(t), t).toBe(true);
  });
});

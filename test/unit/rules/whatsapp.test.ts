/** WhatsApp Business Platform usage (rating-rules §3.3, G1, G2, G3, G12, G13). */
import { describe, expect, it } from "vitest";
import { rateWhatsApp } from "../../../shared/core/products/whatsapp/rule.js";
import type { LedgerEvent } from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { type EventInput, ev } from "../../support/events.js";
import { rateInEveryOrder } from "../../support/orders.js";
import { HOUR as H, iso, july, june, rateText } from "./harness.js";

const J = "2025-06-10T09:00:00Z"; // per-conversation regime
const T = "2025-07-10T09:00:00Z"; // per-message regime
const at = (base: string, hours: number, ms = 0) => new Date(Date.parse(base) + hours * H + ms).toISOString();
const run = (events: LedgerEvent[], period: PeriodWindow) => {
  const { charges, blocked, suspense } = rateText(rateWhatsApp, events, period);
  return { charges, blocked, suspense };
};

// End user u1, sender wa1 unless told.
const inb = (time: string, extra: Partial<EventInput<"whatsapp.inbound">> = {}) =>
  ev("whatsapp.inbound", time, { endUserId: "u1", senderId: "wa1", ...extra });
type WhatsAppMessage = EventInput<"whatsapp.message">;
const tpl = (time: string, category: WhatsAppMessage["category"], extra: Partial<WhatsAppMessage> = {}) =>
  ev("whatsapp.message", time, {
    endUserId: "u1",
    senderId: "wa1",
    kind: "template",
    category,
    delivered: true,
    ...extra,
  });
const free = (time: string, extra: Partial<WhatsAppMessage> = {}) =>
  ev("whatsapp.message", time, {
    endUserId: "u1",
    senderId: "wa1",
    kind: "freeform",
    delivered: true,
    ...extra,
  });

const conv = (category: string, time: string) =>
  `whatsapp.conversation[category=${category}] @${iso(Date.parse(time))}`;
const template = (category: string, time: string) =>
  `whatsapp.template[category=${category}] @${iso(Date.parse(time))}`;
const freeform = (time: string) => `whatsapp.freeform @${iso(Date.parse(time))}`;
const OUTSIDE_CSW =
  "whatsapp.conversation[category=service]: free-form message delivered outside the customer support window with no open conversation";

describe("rateWhatsApp before 2025-07-01: per conversation (§3.3)", () => {
  it.each<[string, LedgerEvent[], string[], string[], string[]]>([
    [
      "§3.3 a delivered marketing template opens a marketing conversation",
      [tpl(J, "marketing")],
      [conv("marketing", J)],
      [],
      [],
    ],
    ["§3.3 utility template → utility conversation", [tpl(J, "utility")], [conv("utility", J)], [], []],
    [
      "§3.3 authentication template → authentication conversation",
      [tpl(J, "authentication")],
      [conv("authentication", J)],
      [],
      [],
    ],
    [
      "§3.3 a second template of the same category inside 24 h is covered",
      [tpl(J, "marketing"), tpl(at(J, 23), "marketing")],
      [conv("marketing", J)],
      [],
      [],
    ],
    [
      "G12 a template at exactly +24 h opens a new conversation",
      [tpl(J, "marketing"), tpl(at(J, 24), "marketing")],
      [conv("marketing", J), conv("marketing", at(J, 24))],
      [],
      [],
    ],
    [
      "§3.3 seed example: marketing inside an open utility conversation opens its own",
      [tpl(J, "utility"), tpl(at(J, 1), "marketing")],
      [conv("utility", J), conv("marketing", at(J, 1))],
      [],
      [],
    ],
    [
      "G1 an undelivered template opens nothing",
      [tpl(J, "marketing", { delivered: false }), tpl(at(J, 1), "marketing")],
      [conv("marketing", at(J, 1))],
      [],
      [],
    ],
    [
      "§3.3 free-form inside the CSW with no conversation opens a service conversation",
      [inb(J), free(at(J, 1)), free(at(J, 2))],
      [conv("service", at(J, 1))],
      [],
      [],
    ],
    [
      "§3.3 free-form while any conversation is open opens no service conversation",
      [inb(J), tpl(at(J, 1), "marketing"), free(at(J, 2))],
      [conv("marketing", at(J, 1))],
      [],
      [],
    ],
    [
      "§3.3 a service conversation does not cover a utility template",
      [inb(J), free(at(J, 1)), tpl(at(J, 2), "utility")],
      [conv("service", at(J, 1)), conv("utility", at(J, 2))],
      [],
      [],
    ],
    [
      "G12 free-form at exactly +24 h from the inbound is outside the CSW",
      [inb(J), free(at(J, 24))],
      [],
      [],
      [OUTSIDE_CSW],
    ],
    [
      "§3.3 (policy) free-form outside the CSW with no conversation goes to suspense",
      [free(J)],
      [],
      [],
      [OUTSIDE_CSW],
    ],
    ["§3.3 an inbound alone opens nothing", [inb(J)], [], [], []],
    [
      "G12 same time: the inbound is taken before the free-form answer",
      [free(J), inb(J)],
      [conv("service", J)],
      [],
      [],
    ],
    [
      "§3.3 conversations are per sender",
      [tpl(J, "marketing"), tpl(at(J, 1), "marketing", { senderId: "wa2" })],
      [conv("marketing", J), conv("marketing", at(J, 1))],
      [],
      [],
    ],
    [
      "§3.3 conversations are per end user",
      [tpl(J, "marketing"), tpl(at(J, 1), "marketing", { endUserId: "u2" })],
      [conv("marketing", J), conv("marketing", at(J, 1))],
      [],
      [],
    ],
    ["§3.3 the CSW is per sender", [inb(J, { senderId: "wa2" }), free(at(J, 1))], [], [], [OUTSIDE_CSW]],
    [
      "G2 a blocked template is informational and opens nothing",
      [tpl(J, "marketing", { blocked: true }), tpl(at(J, 1), "marketing")],
      [conv("marketing", at(J, 1))],
      [conv("marketing", J)],
      [],
    ],
    [
      "G2 a blocked template inside an open conversation would have been covered: nothing",
      [tpl(J, "marketing"), tpl(at(J, 1), "marketing", { blocked: true })],
      [conv("marketing", J)],
      [],
      [],
    ],
    [
      "G2 a blocked free-form in the CSW: informational service conversation, opens nothing",
      [inb(J), free(at(J, 1), { blocked: true }), free(at(J, 2))],
      [conv("service", at(J, 2))],
      [conv("service", at(J, 1))],
      [],
    ],
  ])("%s", (_name, events, charges, blocked, suspense) => {
    expect(run(events, june)).toEqual({ charges, blocked, suspense });
  });

  it("G12 a conversation opened in May keeps covering June and is not charged again", () => {
    const events = [tpl("2025-05-31T20:00:00Z", "marketing"), tpl("2025-06-01T10:00:00Z", "marketing")];
    expect(run(events, june).charges).toEqual([]);
    expect(run(events, periodWindow("2025-05", "UTC")).charges).toEqual([
      conv("marketing", "2025-05-31T20:00:00Z"),
    ]);
  });
});

describe("rateWhatsApp from 2025-07-01: per message (§3.3)", () => {
  it.each<[string, LedgerEvent[], string[], string[]]>([
    [
      "§3.3 each delivered marketing template",
      [tpl(T, "marketing"), tpl(at(T, 1), "marketing")],
      [template("marketing", T), template("marketing", at(T, 1))],
      [],
    ],
    [
      "§3.3 each delivered authentication template",
      [tpl(T, "authentication")],
      [template("authentication", T)],
      [],
    ],
    [
      "§3.3 marketing and authentication are charged inside the CSW too",
      [inb(T), tpl(at(T, 1), "marketing"), tpl(at(T, 1), "authentication")],
      [template("marketing", at(T, 1)), template("authentication", at(T, 1))],
      [],
    ],
    ["§3.3 utility outside the CSW is charged", [tpl(T, "utility")], [template("utility", T)], []],
    ["§3.3 utility inside the CSW is free", [inb(T), tpl(at(T, 23), "utility")], [], []],
    [
      "G12 utility at exactly +24 h from the inbound is charged",
      [inb(T), tpl(at(T, 24), "utility")],
      [template("utility", at(T, 24))],
      [],
    ],
    [
      "§3.3 the CSW runs from the latest inbound",
      [inb(T), inb(at(T, 10)), tpl(at(T, 30), "utility")],
      [],
      [],
    ],
    ["G12 same time: the inbound is taken before the template", [tpl(T, "utility"), inb(T)], [], []],
    [
      "§3.3 the CSW is per (sender, end user)",
      [inb(T, { senderId: "wa2" }), inb(T, { endUserId: "u2" }), tpl(at(T, 1), "utility")],
      [template("utility", at(T, 1))],
      [],
    ],
    [
      "§3.3 each delivered free-form, inside or outside the CSW",
      [free(T), inb(at(T, 1)), free(at(T, 2))],
      [freeform(T), freeform(at(T, 2))],
      [],
    ],
    [
      "G1 undelivered messages are free",
      [tpl(T, "marketing", { delivered: false }), free(T, { delivered: false })],
      [],
      [],
    ],
    [
      "G2 blocked marketing is informational",
      [tpl(T, "marketing", { blocked: true })],
      [],
      [template("marketing", T)],
    ],
    ["G2 blocked free-form is informational", [free(T, { blocked: true })], [], [freeform(T)]],
    [
      "G2 blocked utility inside the CSW would have been free: nothing",
      [inb(T), tpl(at(T, 1), "utility", { blocked: true })],
      [],
      [],
    ],
    [
      "G2 blocked utility outside the CSW is informational",
      [tpl(T, "utility", { blocked: true })],
      [],
      [template("utility", T)],
    ],
  ])("%s", (_name, events, charges, blocked) => {
    expect(run(events, july)).toEqual({ charges, blocked, suspense: [] });
  });

  it("§3.3 a conversation opened before the switch covers nothing after it", () => {
    const events = [
      tpl("2025-06-30T23:00:00Z", "marketing"),
      tpl("2025-07-01T00:00:00Z", "marketing"),
      inb("2025-06-30T22:00:00Z"),
      free("2025-06-30T22:30:00Z"),
      free("2025-07-01T00:30:00Z"),
    ];
    expect(run(events, july).charges).toEqual([
      template("marketing", "2025-07-01T00:00:00Z"),
      freeform("2025-07-01T00:30:00Z"),
    ]);
    expect(run(events, june).charges).toEqual([
      conv("service", "2025-06-30T22:30:00Z"),
      conv("marketing", "2025-06-30T23:00:00Z"),
    ]);
  });

  it("G12 a CSW opened by a June inbound makes a July utility template free", () => {
    const events = [
      inb("2025-06-30T12:00:00Z"),
      tpl("2025-07-01T11:59:59Z", "utility"),
      tpl("2025-07-01T12:00:00Z", "utility"),
    ];
    expect(run(events, july).charges).toEqual([template("utility", "2025-07-01T12:00:00Z")]);
  });

  it("G3 in Europe/Istanbul the July period starts at 21:00Z on 30 June, still per conversation until 00:00Z", () => {
    const istJuly = periodWindow("2025-07", "Europe/Istanbul");
    const events = [
      tpl("2025-06-30T20:59:59Z", "utility"), // June in Istanbul
      tpl("2025-06-30T22:00:00Z", "marketing"), // July in Istanbul, per conversation
      tpl("2025-06-30T23:00:00Z", "marketing"), // covered by that conversation
      tpl("2025-07-01T00:00:00Z", "marketing"), // per message
      tpl("2025-07-31T21:00:00Z", "marketing"), // August in Istanbul
    ];
    expect(run(events, istJuly).charges).toEqual([
      conv("marketing", "2025-06-30T22:00:00Z"),
      template("marketing", "2025-07-01T00:00:00Z"),
    ]);
  });

  it("G6 the charges depend only on the set of events: adversarial orders through ratePeriod", () => {
    const events = [
      inb(T),
      tpl(at(T, 1), "utility"),
      free(at(T, 1)),
      tpl(at(T, 2), "marketing", { endUserId: "u2" }),
      tpl("2025-06-30T23:00:00Z", "utility"), // June conversation, covers nothing in July
      tpl(at(T, 5), "utility", { endUserId: "u3" }), // same instant as u3's inbound: free in its CSW (G12)
      inb(at(T, 5), { endUserId: "u3" }),
      tpl(at(T, 24), "utility"), // +24 h from u1's inbound: outside the CSW, charged
    ];
    expect(rateInEveryOrder(events)).toEqual([
      "usage whatsapp.freeform x1",
      "usage whatsapp.template[category=marketing] x1",
      "usage whatsapp.template[category=utility] x1",
    ]);
  });
});

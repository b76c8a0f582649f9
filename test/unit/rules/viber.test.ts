/** Viber business messages and Viber Bot (rating-rules §3.1, §3.2, G1, G2, G3, G12, G13). */
import { describe, expect, it } from "vitest";
import { rateViber, rateViberBot } from "../../../shared/core/products/viber/rule.js";
import { ratePeriod } from "../../../shared/core/rating/engine.js";
import type { LedgerEvent, ProductRule } from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { account, type EventInput, ev, tariff, viberPriceRise } from "../../support/events.js";
import { rateInEveryOrder } from "../../support/orders.js";
import { HOUR as H, iso, july, june, rate, rateText } from "./harness.js";

const T = "2025-07-02T09:00:00Z";
/** An instant `hours` (and `ms`) after `base`. */
const at = (hours: number, ms = 0, base = T) => new Date(Date.parse(base) + hours * H + ms).toISOString();
/** As the engine does (harness.ts): history up to the period's end, and the events just after it (`following`). */
const run = (rule: ProductRule, events: LedgerEvent[], period: PeriodWindow = july) => {
  const { charges, blocked } = rateText(rule, events, period);
  return { charges, blocked };
};

// Viber helpers: end user u1, service svc1 unless told.
const inb = (time: string, endUserId = "u1", serviceId = "svc1") =>
  ev("viber.inbound", time, { endUserId, serviceId });
const vmsg = (
  time: string,
  messageType: "session" | "transactional" | "promotional" = "session",
  extra: Partial<EventInput<"viber.message">> = {},
) =>
  ev("viber.message", time, { endUserId: "u1", serviceId: "svc1", messageType, delivered: true, ...extra });
const sessionMsgs = (n: number, fromHour: number) =>
  Array.from({ length: n }, (_, i) => vmsg(at(fromHour, i * 1000)));

const SESSION = `viber.session @${T} #svc1`;
const msgAt = (time: string, type = "session", svc = "svc1") =>
  `viber.message[messageType=${type}] @${iso(Date.parse(time))} #${svc}`;

describe("rateViber (§3.1)", () => {
  it.each<[string, LedgerEvent[], string[], string[]]>([
    [
      "§3.1 transactional delivered: viber.message by messageType",
      [vmsg(T, "transactional")],
      [msgAt(T, "transactional")],
      [],
    ],
    ["§3.1 promotional delivered", [vmsg(T, "promotional")], [msgAt(T, "promotional")], []],
    ["G1 undelivered message is free", [vmsg(T, "promotional", { delivered: false })], [], []],
    ["§3.1 (policy) session-type with no open session → viber.message session", [vmsg(T)], [msgAt(T)], []],
    [
      "§3.1 an inbound opens a session; its session messages are covered by one viber.session",
      [inb(T), vmsg(at(1)), vmsg(at(2)), vmsg(at(3))],
      [SESSION],
      [],
    ],
    [
      "§3.1 a session with no session-type message delivered costs nothing",
      [inb(T), vmsg(at(1), "transactional"), vmsg(at(2), "session", { delivered: false })],
      [msgAt(at(1), "transactional")],
      [],
    ],
    [
      "§3.1 other types inside a session are charged as usual",
      [inb(T), vmsg(at(1), "promotional"), vmsg(at(2))],
      [msgAt(at(1), "promotional"), SESSION],
      [],
    ],
    ["§3.1 session covers up to 60 session messages", [inb(T), ...sessionMsgs(60, 1)], [SESSION], []],
    [
      "§3.1 (policy) the 61st session message → viber.message session",
      [inb(T), ...sessionMsgs(61, 1)],
      [SESSION, msgAt(at(1, 60_000))],
      [],
    ],
    [
      "G12 session message at exactly +24 h is outside the session",
      [inb(T), vmsg(at(1)), vmsg(at(24))],
      [SESSION, msgAt(at(24))],
      [],
    ],
    ["G12 session message 1 ms before +24 h is inside", [inb(T), vmsg(at(24, -1))], [SESSION], []],
    [
      "§3.1 fixed: a later inbound inside the session does not extend it",
      [inb(T), inb(at(12)), vmsg(at(1)), vmsg(at(25))],
      [SESSION, msgAt(at(25))],
      [],
    ],
    [
      "§3.1 an inbound at +24 h opens a new session",
      [inb(T), vmsg(at(1)), inb(at(24)), vmsg(at(25))],
      [SESSION, `viber.session @${at(24).replace(".000Z", "Z")} #svc1`],
      [],
    ],
    ["G12 same time: the inbound is taken before the outbound message", [vmsg(T), inb(T)], [SESSION], []],
    [
      "§3.1 an outbound message before the inbound is not in the session",
      [vmsg(at(-1)), inb(T), vmsg(at(1))],
      [msgAt(at(-1)), SESSION],
      [],
    ],
    [
      "§3.1 session per (serviceId, end user): another end user has none",
      [inb(T, "u2"), vmsg(at(1))],
      [msgAt(at(1))],
      [],
    ],
    [
      "§3.1 session per (serviceId, end user): another service has none",
      [inb(T, "u1", "svc2"), vmsg(at(1))],
      [msgAt(at(1))],
      [],
    ],
    [
      "§3.1 every charge carries the sender as commitmentServiceId",
      [
        inb(T, "u1", "svc2"),
        vmsg(at(1), "session", { serviceId: "svc2" }),
        vmsg(at(2), "transactional", { serviceId: "svc2" }),
      ],
      [`viber.session @${T} #svc2`, msgAt(at(2), "transactional", "svc2")],
      [],
    ],
    [
      "G2 blocked transactional: informational only",
      [vmsg(T, "transactional", { blocked: true })],
      [],
      [`viber.message[messageType=transactional] @${T}`],
    ],
    [
      "G2 blocked and undelivered: nothing",
      [vmsg(T, "transactional", { blocked: true, delivered: false })],
      [],
      [],
    ],
    [
      "G2 blocked session message with no session: informational viber.message session",
      [vmsg(T, "session", { blocked: true })],
      [],
      [`viber.message[messageType=session] @${T}`],
    ],
    [
      "G2 (policy) blocked first message of a session: informational session, the session is not charged",
      [inb(T), vmsg(at(1), "session", { blocked: true }), vmsg(at(2), "session", { blocked: true })],
      [],
      [`viber.session @${T}`],
    ],
    [
      "G2 (policy) blocked message in a session already charged: nothing more",
      [inb(T), vmsg(at(1)), vmsg(at(2), "session", { blocked: true })],
      [SESSION],
      [],
    ],
    [
      "G2 blocked messages take no session slot",
      [inb(T), ...sessionMsgs(59, 1), vmsg(at(2), "session", { blocked: true }), vmsg(at(3))],
      [SESSION],
      [],
    ],
    [
      "G2 blocked message after the 60th: informational viber.message session",
      [inb(T), ...sessionMsgs(60, 1), vmsg(at(2), "session", { blocked: true })],
      [SESSION],
      [`viber.message[messageType=session] @${at(2).replace(".000Z", "Z")}`],
    ],
  ])("%s", (_name, events, charges, blocked) => {
    expect(run(rateViber, events)).toEqual({ charges, blocked });
  });

  it("G12 a session opened and charged in June keeps covering July without a second charge", () => {
    const events = [inb("2025-06-30T23:00:00Z"), vmsg("2025-06-30T23:30:00Z"), vmsg("2025-07-01T10:00:00Z")];
    expect(run(rateViber, events, june).charges).toEqual(["viber.session @2025-06-30T23:00:00Z #svc1"]);
    expect(run(rateViber, events, july).charges).toEqual([]);
  });

  it("G12 June session: its 60 slots are shared across the boundary", () => {
    const events = [
      inb("2025-06-30T20:00:00Z"),
      ...Array.from({ length: 30 }, (_, i) => vmsg(at(0, i * 1000, "2025-06-30T21:00:00Z"))),
      ...Array.from({ length: 31 }, (_, i) => vmsg(at(0, i * 1000, "2025-07-01T01:00:00Z"))),
    ];
    expect(run(rateViber, events, july).charges).toEqual([msgAt("2025-07-01T01:00:30Z")]);
  });

  it("§3.1 a session opened in June whose first session message is in July is June's, priced at its opening", () => {
    const events = [inb("2025-06-30T23:00:00Z"), vmsg("2025-07-01T01:00:00Z"), vmsg("2025-07-01T02:00:00Z")];
    expect(run(rateViber, events, june).charges).toEqual(["viber.session @2025-06-30T23:00:00Z #svc1"]);
    expect(run(rateViber, events, july).charges).toEqual([]);
  });

  it("§3.1, G7 the issue's case (America/New_York): inbound 17:05 on 31 August, first session message 16:25 on 1 September", () => {
    const ny = (id: string) => periodWindow(id, "America/New_York");
    // 17:05 EDT = 21:05Z; 16:25 EDT = 20:25Z the next day (inside the 24 h session).
    const events = [
      inb("2025-08-31T21:05:00Z"),
      vmsg("2025-09-01T20:25:00Z"),
      vmsg("2025-09-01T20:30:00Z", "transactional"),
    ];
    const august = run(rateViber, events, ny("2025-08"));
    const september = run(rateViber, events, ny("2025-09"));
    expect(august.charges).toEqual(["viber.session @2025-08-31T21:05:00Z #svc1"]);
    expect(september.charges).toEqual([msgAt("2025-09-01T20:30:00Z", "transactional")]);
    // G7: August is charged only from what it can see; a session with no message yet costs nothing.
    expect(run(rateViber, events.slice(0, 1), ny("2025-08")).charges).toEqual([]);
  });

  it("§3.1 a session of the previous period whose first message is at +24 h or later is not charged", () => {
    const events = [inb("2025-06-30T23:00:00Z"), vmsg("2025-07-01T23:00:00Z")];
    expect(run(rateViber, events, june).charges).toEqual([]);
    expect(run(rateViber, events, july).charges).toEqual([msgAt("2025-07-01T23:00:00Z")]);
  });

  it("G2 (policy) a blocked first message after the period's end is reported in the opener's period", () => {
    const events = [inb("2025-06-30T23:00:00Z"), vmsg("2025-07-01T01:00:00Z", "session", { blocked: true })];
    expect(run(rateViber, events, june)).toEqual({
      charges: [],
      blocked: ["viber.session @2025-06-30T23:00:00Z"],
    });
    expect(run(rateViber, events, july)).toEqual({ charges: [], blocked: [] });
  });

  it("G3 the session belongs to the account's time-zone month (Europe/Istanbul, UTC+3)", () => {
    const istJuly = periodWindow("2025-07", "Europe/Istanbul");
    const istJune = periodWindow("2025-06", "Europe/Istanbul");
    // 21:30Z on 30 June is 00:30 on 1 July in Istanbul; 20:30Z is still June there.
    const julySession = [inb("2025-06-30T21:30:00Z", "u1"), vmsg("2025-06-30T21:45:00Z")];
    const juneSession = [
      inb("2025-06-30T20:30:00Z", "u2"),
      vmsg("2025-06-30T20:45:00Z", "session", { endUserId: "u2" }),
    ];
    const events = [...julySession, ...juneSession];
    expect(run(rateViber, events, istJuly).charges).toEqual(["viber.session @2025-06-30T21:30:00Z #svc1"]);
    expect(run(rateViber, events, istJune).charges).toEqual(["viber.session @2025-06-30T20:30:00Z #svc1"]);
  });

  it("G6 the charges depend only on the set of events: adversarial orders through ratePeriod", () => {
    const events = [
      vmsg(T), // same instant as the inbound that opens the session: covered by it (G12)
      inb(T),
      vmsg(at(1), "promotional"),
      inb(at(2)), // inside the session: opens nothing
      vmsg(at(3)),
      inb(T, "u2"),
      vmsg(at(2), "session", { endUserId: "u2" }),
      vmsg(at(24)), // +24 h: outside the session
      vmsg(at(24), "transactional", { blocked: true }),
    ];
    expect(rateInEveryOrder(events)).toEqual([
      "usage viber.session x2",
      "usage viber.message[messageType=promotional] x1",
      "usage viber.message[messageType=session] x1",
      "informational viber.message[messageType=transactional] x1",
    ]);
  });
});

// Viber Bot helpers: end user u1, bot b1 unless told.
const binb = (time: string, endUserId = "u1", botId = "b1") =>
  ev("viber_bot.inbound", time, { endUserId, botId });
const bmsg = (time: string, extra: Record<string, unknown> = {}) =>
  ev("viber_bot.message", time, { endUserId: "u1", botId: "b1", delivered: true, ...extra });
const BOT = (time: string) => `viber_bot.message @${iso(Date.parse(time))}`;

describe("rateViberBot (§3.2)", () => {
  it.each<[string, LedgerEvent[], string[], string[]]>([
    ["§3.2 delivered bot message with no CSW is charged", [bmsg(T)], [BOT(T)], []],
    ["§3.2 inside the CSW it is free", [binb(T), bmsg(at(1)), bmsg(at(23))], [], []],
    [
      "G12 at exactly +24 h from the inbound it is outside the CSW",
      [binb(T), bmsg(at(24))],
      [BOT(at(24))],
      [],
    ],
    ["G12 1 ms before +24 h it is inside", [binb(T), bmsg(at(24, -1))], [], []],
    [
      "§3.2 the CSW runs from the latest inbound",
      [binb(T), binb(at(20)), bmsg(at(30)), bmsg(at(44))],
      [BOT(at(44))],
      [],
    ],
    ["G12 same time: the inbound is taken before the bot message", [bmsg(T), binb(T)], [], []],
    ["§3.2 bot messages never open a CSW", [bmsg(T), bmsg(at(1))], [BOT(T), BOT(at(1))], []],
    [
      "§3.2 CSW per bot: an inbound to another bot does not cover",
      [binb(T, "u1", "b2"), bmsg(at(1))],
      [BOT(at(1))],
      [],
    ],
    ["§3.2 CSW per end user", [binb(T, "u2"), bmsg(at(1))], [BOT(at(1))], []],
    ["G1 undelivered bot message is free", [bmsg(T, { delivered: false })], [], []],
    ["G2 blocked outside the CSW: informational", [bmsg(T, { blocked: true })], [], [BOT(T)]],
    ["G2 blocked inside the CSW: free anyway, nothing", [binb(T), bmsg(at(1), { blocked: true })], [], []],
  ])("%s", (_name, events, charges, blocked) => {
    expect(run(rateViberBot, events)).toEqual({ charges, blocked });
  });

  it("G12 a CSW opened in June covers July; June messages are not charged in July", () => {
    const events = [
      bmsg("2025-06-30T11:00:00Z"),
      binb("2025-06-30T12:00:00Z"),
      bmsg("2025-07-01T06:00:00Z"),
      bmsg("2025-07-01T12:00:00Z"),
    ];
    expect(run(rateViberBot, events, july).charges).toEqual([BOT("2025-07-01T12:00:00Z")]);
    expect(run(rateViberBot, events, june).charges).toEqual([BOT("2025-06-30T11:00:00Z")]);
  });

  it("G3 the period boundary is the account's time zone (Europe/Istanbul)", () => {
    const istJuly = periodWindow("2025-07", "Europe/Istanbul");
    const events = [bmsg("2025-06-30T20:59:59Z"), bmsg("2025-06-30T21:00:00Z"), bmsg("2025-07-31T21:00:00Z")];
    expect(run(rateViberBot, events, istJuly).charges).toEqual([BOT("2025-06-30T21:00:00Z")]);
  });
});

describe("§3.1 active senders for the minimum commitment", () => {
  it("a sender whose July messages are all covered by a June session is active in July without a charge", () => {
    const events = [
      ev("viber.inbound", "2025-06-30T20:00:00Z", { endUserId: "u1", serviceId: "svc-1" }),
      ev("viber.message", "2025-06-30T21:00:00Z", {
        endUserId: "u1",
        serviceId: "svc-1",
        messageType: "session",
        delivered: true,
      }),
      ev("viber.message", "2025-07-01T01:00:00Z", {
        endUserId: "u1",
        serviceId: "svc-1",
        messageType: "session",
        delivered: true,
      }),
      ev("viber.message", "2025-07-01T02:00:00Z", {
        endUserId: "u1",
        serviceId: "svc-2",
        messageType: "promotional",
        delivered: true,
        blocked: true,
      }),
    ];
    const out = rate(rateViber, events);
    expect(out.charges).toEqual([]);
    // svc-2 only sent blocked traffic: G2, it counts for nothing.
    expect(out.commitmentSenders).toEqual(["svc-1"]);
  });
});

describe("§3.1 a session charged in the opener's period, through ratePeriod", () => {
  const t = tariff(viberPriceRise("2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z"));
  const a = account({ commitments: [{ serviceId: "svc1", minimumAmount: "1.00" }] });
  const lines = (periodId: string, events: LedgerEvent[]) =>
    ratePeriod({ account: a, tariff: t, periodId, events }).lines.map(
      (l) =>
        `${l.lineType} ${l.product} ${l.quantity.toFixed()} x ${l.unitPrice.toFixed()} = ${l.amount.toFixed(2)}`,
    );
  const events = [inb("2025-06-30T23:00:00Z"), vmsg("2025-07-01T01:00:00Z")];

  it("G8 priced at the inbound's time; the sender, silent in June, owes no June minimum", () => {
    expect(lines("2025-06", events)).toEqual(["usage viber.session 1 x 0.1 = 0.10"]);
  });
  it("July: the sender delivered a message covered by June's session, so it owes its whole minimum", () => {
    expect(lines("2025-07", events)).toEqual(["commitment_true_up viber.commitment 1 x 1 = 1.00"]);
  });
});

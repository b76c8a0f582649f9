/** SaaS metrics and GEN AI (rating-rules §2, §2.1, G2, G3, G8, G12). */
import { describe, expect, it } from "vitest";
import type { AccountInput } from "../../../shared/contract/accounts.js";
import { dec } from "../../../shared/core/money.js";
import { canonicalOrder } from "../../../shared/core/rating/ordering.js";
import { priceCharges } from "../../../shared/core/rating/pricing.js";
import {
  rateAnswers,
  rateConversations,
  rateGenAi,
  rateMoments,
} from "../../../shared/core/rating/rules/saas.js";
import type { Charge, LedgerEvent, ProductRule } from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { account, ev, tariff, v2025 } from "../../support/events.js";
import { rateInEveryOrder } from "../../support/orders.js";

const july = periodWindow("2025-07", "UTC");
const june = periodWindow("2025-06", "UTC");
const T = "2025-07-02T09:00:00Z";
const MIN = 60_000;
/** An instant `minutes` (and `ms`) after `base`. */
const at = (minutes: number, ms = 0, base = T) =>
  new Date(Date.parse(base) + minutes * MIN + ms).toISOString().replace(".000Z", "Z");
const iso = (t: number) => new Date(t).toISOString().replace(".000Z", "Z");

/** "product[k=v;…] xQ @pricedAt" (dimensions sorted by key, " xQ" only when Q ≠ 1). */
const fmt = (c: Charge) => {
  const d = Object.keys(c.dimensions)
    .sort()
    .map((k) => `${k}=${c.dimensions[k]}`)
    .join(";");
  const q = c.quantity.eq(1) ? "" : ` x${c.quantity.toFixed()}`;
  return `${c.product}${d ? `[${d}]` : ""}${q} @${iso(c.pricedAt)}`;
};
const run = (
  rule: ProductRule,
  events: LedgerEvent[],
  period: PeriodWindow = july,
  over: Partial<AccountInput> = {},
) => {
  const out = rule({
    account: account({ timezone: period.timezone, ...over }),
    period,
    // The engine hands every rule the account's history up to the period's end, in canonical order.
    events: canonicalOrder(events.filter((e) => e.t < period.end)),
  });
  expect(out.blocked ?? []).toEqual([]);
  return out.charges.map(fmt);
};

const JULY = "@2025-07-01T00:00:00Z";
const JUNE = "@2025-06-01T00:00:00Z";

// ---------------------------------------------------------------------------------------------
// §2 conversations.active_agents
// ---------------------------------------------------------------------------------------------
const user = (time: string, userId: string, action: "added" | "removed", id?: string) =>
  ev("conversations.user", time, { userId, action }, id ? { id } : {});
const add = (time: string, userId: string, id?: string) => user(time, userId, "added", id);
const rem = (time: string, userId: string, id?: string) => user(time, userId, "removed", id);
const agents = (n: number) => [`conversations.active_agents${n === 1 ? "" : ` x${n}`} ${JULY}`];

describe("rateConversations: conversations.active_agents (§2 peak named users)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§2 users added before the period count from its first instant",
      [add("2025-05-10T10:00:00Z", "u1"), add("2025-06-20T10:00:00Z", "u2")],
      agents(2),
    ],
    [
      "§2 users provisioned before the period plus users added in it",
      [add("2025-06-20T10:00:00Z", "u1"), add(T, "u2"), add(at(60), "u3")],
      agents(3),
    ],
    [
      "§2 provisioned before the period and removed in it: still counted (peak at the first instant)",
      [add("2025-06-20T10:00:00Z", "u1"), add("2025-06-21T10:00:00Z", "u2"), rem(T, "u1"), rem(T, "u2")],
      agents(2),
    ],
    [
      "§2 removing and re-adding a user costs nothing extra",
      [add(T, "u1"), rem(at(60), "u1"), add(at(120), "u1")],
      agents(1),
    ],
    [
      "§2 removing in June and re-adding in July: one user",
      [add("2025-06-02T10:00:00Z", "u1"), rem("2025-06-20T10:00:00Z", "u1"), add(T, "u1")],
      agents(1),
    ],
    ["§2 a user added twice counts once", [add(T, "u1"), add(at(60), "u1"), add(at(60), "u2")], agents(2)],
    [
      "§2 peak across the period, not the end-of-period count",
      [add(T, "u1"), add(T, "u2"), add(at(60), "u3"), rem(at(120), "u2"), rem(at(180), "u3")],
      agents(3),
    ],
    [
      "§2 peak of users provisioned at the same time, not every user seen in the period",
      [add(T, "u1"), rem(at(60), "u1"), add(at(120), "u2"), rem(at(180), "u2"), add(at(240), "u3")],
      agents(1),
    ],
    [
      "§2 (policy) removals before additions at the same instant: a swap is never both at once",
      // ids chosen so that the addition sorts first in canonical order: the policy still applies.
      [add("2025-06-20T10:00:00Z", "u1"), add(T, "u2", "a-add"), rem(T, "u1", "z-rem")],
      agents(1),
    ],
    [
      "§2, G12 changes at one instant apply in canonical order (source, id): re-added after its removal, u1 stays",
      [add(T, "u1"), rem(at(60), "u1", "a-rem"), add(at(60), "u1", "z-add"), add(at(90), "u2")],
      agents(2),
    ],
    [
      "§2, G12 changes at one instant apply in canonical order (source, id): removed after its addition, u1 goes",
      [add(T, "u1"), add(at(60), "u1", "a-add"), rem(at(60), "u1", "z-rem"), add(at(90), "u2")],
      agents(1),
    ],
    ["§2 removing a user never added changes nothing", [rem(T, "ghost"), add(at(60), "u1")], agents(1)],
    ["§2 no charge when nobody was provisioned", [], []],
    [
      "§2 no charge when every user was removed before the period",
      [add("2025-05-10T10:00:00Z", "u1"), rem("2025-06-30T23:59:59Z", "u1")],
      [],
    ],
    ["§2 only removals: no charge", [rem(T, "u1")], []],
  ])("%s", (_name, events, charges) => {
    expect(run(rateConversations, events)).toEqual(charges);
  });

  it("G8 the peak is a per-period charge priced at the period's first instant, also in June", () => {
    const events = [add("2025-06-05T10:00:00Z", "u1"), add("2025-06-06T10:00:00Z", "u2"), add(T, "u3")];
    expect(run(rateConversations, events, june)).toEqual([`conversations.active_agents x2 ${JUNE}`]);
    expect(run(rateConversations, events, july)).toEqual(agents(3));
  });

  it("G3 the period's first instant is the account's midnight (Europe/Istanbul, UTC+3)", () => {
    const ist = (id: string) => periodWindow(id, "Europe/Istanbul");
    // 20:59:59Z on 30 June is 23:59:59 in Istanbul (June there); 21:00:01Z is 1 July 00:00:01.
    const events = [
      add("2025-06-30T20:59:59Z", "u1"),
      rem("2025-06-30T21:00:01Z", "u1"),
      add("2025-06-30T21:30:00Z", "u2"),
    ];
    expect(run(rateConversations, events, ist("2025-06"))).toEqual([
      "conversations.active_agents @2025-05-31T21:00:00Z",
    ]);
    // u1 was still provisioned at July's first instant there; u2 came after u1 left: peak 1.
    expect(run(rateConversations, events, ist("2025-07"))).toEqual([
      "conversations.active_agents @2025-06-30T21:00:00Z",
    ]);
  });

  // Provisioning is read like every other interval of the rules, [added, removed) (G11/G12): a user
  // removed exactly at the period's first instant was never provisioned during the period.
  it("§2 [added, removed): a user removed exactly at the period's first instant is not counted", () => {
    const events = [
      add("2025-06-10T10:00:00Z", "u1"),
      add("2025-06-10T10:00:00Z", "u2"),
      rem("2025-07-01T00:00:00Z", "u1"),
      rem("2025-07-01T00:00:00Z", "u2"),
      add(T, "u3"),
    ];
    expect(run(rateConversations, events)).toEqual(agents(1));
  });
});

// ---------------------------------------------------------------------------------------------
// §2 conversations.active_conversations
// ---------------------------------------------------------------------------------------------
const cmsg = (time: string, conversationId: string, direction: "inbound" | "outbound" = "inbound") =>
  ev("conversations.message", time, { conversationId, direction });
const convs = (n: number) => [`conversations.active_conversations${n === 1 ? "" : ` x${n}`} ${JULY}`];

describe("rateConversations: conversations.active_conversations (§2 distinct conversations)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    ["§2 one message: one active conversation", [cmsg(T, "c1")], convs(1)],
    [
      "§2 distinct conversation ids, many messages each",
      [cmsg(T, "c1"), cmsg(at(1), "c1", "outbound"), cmsg(at(2), "c2"), cmsg(at(3), "c2")],
      convs(2),
    ],
    [
      "§2 either direction: a conversation with only outbound messages counts",
      [cmsg(T, "c1", "outbound"), cmsg(at(1), "c2", "inbound")],
      convs(2),
    ],
    [
      "§2 messages in other periods are ignored",
      [cmsg("2025-06-30T23:59:59Z", "c-june"), cmsg(T, "c1"), cmsg("2025-08-01T00:00:00Z", "c-august")],
      convs(1),
    ],
    [
      "§2 a conversation that also had June messages counts in July when it has a July message",
      [cmsg("2025-06-30T23:00:00Z", "c1"), cmsg("2025-07-01T00:00:00Z", "c1", "outbound")],
      convs(1),
    ],
    ["§2 no message in the period: no charge", [cmsg("2025-06-15T10:00:00Z", "c1")], []],
  ])("%s", (_name, events, charges) => {
    expect(run(rateConversations, events)).toEqual(charges);
  });

  it("§2 both metrics side by side: users are not conversations", () => {
    expect(run(rateConversations, [add(T, "u1"), cmsg(T, "c1"), cmsg(T, "c2")])).toEqual([
      ...agents(1),
      ...convs(2),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// §2 moments.engaged_people
// ---------------------------------------------------------------------------------------------
const flow = (time: string, endUserId: string, flowId = "f1") =>
  ev("moments.flow_entered", time, { endUserId, flowId });
const people = (n: number) => [`moments.engaged_people${n === 1 ? "" : ` x${n}`} ${JULY}`];

describe("rateMoments (§2 distinct end users who entered a flow)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    ["§2 one end user entering one flow", [flow(T, "u1")], people(1)],
    [
      "§2 an end user entering several flows counts once",
      [flow(T, "u1", "f1"), flow(at(1), "u1", "f2"), flow(at(2), "u1", "f3"), flow(at(3), "u2", "f1")],
      people(2),
    ],
    [
      "§2 the same flow entered again counts once",
      [flow(T, "u1"), flow("2025-07-20T10:00:00Z", "u1")],
      people(1),
    ],
    [
      "§2 the previous period is ignored: a June-only user does not count",
      [flow("2025-06-30T23:59:59Z", "u0"), flow(T, "u1")],
      people(1),
    ],
    [
      "§2 an end user of June and July counts in July (once a period)",
      [flow("2025-06-10T10:00:00Z", "u1"), flow(T, "u1"), flow(T, "u2")],
      people(2),
    ],
    ["§2 nobody entered a flow in the period: no charge", [flow("2025-06-10T10:00:00Z", "u1")], []],
  ])("%s", (_name, events, charges) => {
    expect(run(rateMoments, events)).toEqual(charges);
  });

  it("§2 each period counts its own people", () => {
    const events = [flow("2025-06-10T10:00:00Z", "u1"), flow("2025-06-11T10:00:00Z", "u2"), flow(T, "u1")];
    expect(run(rateMoments, events, june)).toEqual([`moments.engaged_people x2 ${JUNE}`]);
    expect(run(rateMoments, events, july)).toEqual(people(1));
  });
});

// ---------------------------------------------------------------------------------------------
// §2.1 answers.active_sessions
// ---------------------------------------------------------------------------------------------
const amsg = (time: string, direction: "inbound" | "outbound", endUserId = "u1", botId = "b1") =>
  ev("answers.message", time, { botId, endUserId, direction });
const ain = (time: string, endUserId = "u1", botId = "b1") => amsg(time, "inbound", endUserId, botId);
const aout = (time: string, endUserId = "u1", botId = "b1") => amsg(time, "outbound", endUserId, botId);
const ended = (time: string, reason: "completed" | "transferred", endUserId = "u1", botId = "b1") =>
  ev("answers.session_ended", time, { botId, endUserId, reason });
const sessions = (n: number, period = JULY) => [
  `answers.active_sessions${n === 1 ? "" : ` x${n}`} ${period}`,
];
const TIMEOUT_30 = { settings: { answersSessionTimeoutMinutes: 30 } };

describe("rateAnswers (§2.1 Answers sessions, timeout 30 min)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    ["§2.1 an inbound message opens a session", [ain(T)], sessions(1)],
    [
      "§2.1 further inbound messages inside the open session open nothing",
      [ain(T), ain(at(5)), ain(at(10))],
      sessions(1),
    ],
    ["§2.1 outbound bot messages never open a session", [aout(T), aout(at(5)), aout(at(60))], []],
    [
      "§2.1 an outbound message before the first inbound opens nothing; the inbound does",
      [aout(T), ain(at(5))],
      sessions(1),
    ],
    [
      "§2.1 session_ended completed closes the session: the next inbound opens a new one",
      [ain(T), ended(at(2), "completed"), ain(at(3))],
      sessions(2),
    ],
    [
      "§2.1 session_ended transferred (to an agent) closes the session: the next inbound opens a new one",
      [ain(T), aout(at(1)), ended(at(2), "transferred"), ain(at(3))],
      sessions(2),
    ],
    [
      "§2.1 after session_ended an outbound message opens nothing",
      [ain(T), ended(at(2), "completed"), aout(at(3)), aout(at(4))],
      sessions(1),
    ],
    [
      "§2.1 session_ended with no open session changes nothing",
      [ended(T, "completed"), ain(at(1))],
      sessions(1),
    ],
    [
      "§2.1 timeout: an inbound 31 min after the last message opens a new session",
      [ain(T), ain(at(31))],
      sessions(2),
    ],
    [
      "G12 an inbound at exactly +timeout finds the session closed (half-open)",
      [ain(T), ain(at(30))],
      sessions(2),
    ],
    ["G12 an inbound 1 ms before +timeout is inside the session", [ain(T), ain(at(30, -1))], sessions(1)],
    [
      "§2.1 the timeout runs from the last message of either side: an outbound message extends it",
      [ain(T), aout(at(20)), ain(at(45))],
      sessions(1),
    ],
    [
      "G12 … and the extended session ends exactly +timeout after that outbound message",
      [ain(T), aout(at(20)), ain(at(50))],
      sessions(2),
    ],
    [
      "§2.1 inbound messages keep extending it: a chain 25 min apart is one session",
      [ain(T), ain(at(25)), ain(at(50)), ain(at(75)), ain(at(100))],
      sessions(1),
    ],
    [
      "§2.1 an outbound message after the timeout neither extends nor reopens the session",
      [ain(T), aout(at(31)), ain(at(40))],
      sessions(2),
    ],
    [
      "§2.1 sessions are per (bot, end user) pair",
      [ain(T, "u1", "b1"), ain(T, "u2", "b1"), ain(T, "u1", "b2"), ain(at(1), "u1", "b1")],
      sessions(3),
    ],
    [
      "§2.1 session_ended closes only its own (bot, end user) pair",
      [ain(T, "u1"), ain(T, "u2"), ended(at(1), "completed", "u2"), ain(at(2), "u1"), ain(at(2), "u2")],
      sessions(3),
    ],
    [
      "§2.1 an outbound message to another pair does not extend this one",
      [ain(T, "u1"), aout(at(20), "u2"), ain(at(45), "u1")],
      sessions(2),
    ],
    [
      "G12 same instant: the inbound is taken before session_ended, so it falls inside the session that ends",
      [ain(T), ended(at(5), "completed"), ain(at(5))],
      sessions(1),
    ],
    [
      "G12 same instant as an inbound, an outbound message opens nothing of its own",
      [aout(T), ain(T), aout(at(29)), ain(at(58))],
      sessions(1),
    ],
    ["§2.1 no Answers traffic: no charge", [], []],
  ])("%s", (_name, events, charges) => {
    expect(run(rateAnswers, events, july, TIMEOUT_30)).toEqual(charges);
  });

  it("§2.1 (policy) default timeout is 1440 min: +23 h is the same session, +24 h a new one", () => {
    expect(run(rateAnswers, [ain(T), ain(at(23 * 60))])).toEqual(sessions(1));
    expect(run(rateAnswers, [ain(T), ain(at(24 * 60))])).toEqual(sessions(2));
  });

  it("§2.1 the timeout is the account's setting (answersSessionTimeoutMinutes 5)", () => {
    const five = { settings: { answersSessionTimeoutMinutes: 5 } };
    expect(run(rateAnswers, [ain(T), ain(at(4))], july, five)).toEqual(sessions(1));
    expect(run(rateAnswers, [ain(T), ain(at(5))], july, five)).toEqual(sessions(2));
  });

  it("§2.1 (policy) a session opened in June keeps covering July messages and is not counted in July", () => {
    const events = [
      ain("2025-06-30T23:50:00Z"), // opens a June session
      ain("2025-07-01T00:10:00Z"),
      aout("2025-07-01T00:30:00Z"),
      ain("2025-07-01T00:55:00Z"), // 25 min after the outbound: still the June session
    ];
    expect(run(rateAnswers, events, july, TIMEOUT_30)).toEqual([]);
    expect(run(rateAnswers, events, june, TIMEOUT_30)).toEqual(sessions(1, JUNE));
  });

  it("§2.1 (policy) the June session counts in June, a July session after its timeout counts in July", () => {
    const events = [
      ain("2025-06-30T23:50:00Z"),
      ain("2025-07-01T00:10:00Z"),
      ain("2025-07-01T00:40:00Z"), // exactly +30 min: a new session, opened in July
      ain("2025-07-01T01:00:00Z"),
    ];
    expect(run(rateAnswers, events, june, TIMEOUT_30)).toEqual(sessions(1, JUNE));
    expect(run(rateAnswers, events, july, TIMEOUT_30)).toEqual(sessions(1));
  });

  it("§2.1 a session opened in June and ended there does not affect July's count", () => {
    const events = [ain("2025-06-30T23:00:00Z"), ended("2025-06-30T23:05:00Z", "completed"), ain(T)];
    expect(run(rateAnswers, events, july, TIMEOUT_30)).toEqual(sessions(1));
  });

  it("G3 a session opened at 00:30 on 1 July in Istanbul (30 June 21:30Z) is July's", () => {
    const ist = (id: string) => periodWindow(id, "Europe/Istanbul");
    const events = [ain("2025-06-30T21:30:00Z", "u1"), ain("2025-06-30T20:30:00Z", "u2")];
    expect(run(rateAnswers, events, ist("2025-07"), TIMEOUT_30)).toEqual([
      "answers.active_sessions @2025-06-30T21:00:00Z",
    ]);
    expect(run(rateAnswers, events, ist("2025-06"), TIMEOUT_30)).toEqual([
      "answers.active_sessions @2025-05-31T21:00:00Z",
    ]);
  });

  it("G6 the count depends only on the set of events: adversarial orders through ratePeriod", () => {
    const events = [
      ain(T),
      aout(at(20)),
      ain(at(45)),
      ended(at(46), "completed"),
      ain(at(47), "u2"),
      // Same instant: u3's inbound and the end of its session (the inbound first, policy), then a new one.
      ain(at(60), "u3"),
      ended(at(60), "completed", "u3"),
      ain(at(61), "u3"),
    ];
    expect(rateInEveryOrder(events, "2025-07", TIMEOUT_30)).toEqual(["usage answers.active_sessions x4"]);
  });
});

// ---------------------------------------------------------------------------------------------
// §2 genai.interaction
// ---------------------------------------------------------------------------------------------
const genai = (time: string, data: Record<string, unknown>) => ev("genai.interaction", time, data);

describe("rateGenAi (§2 GEN AI, G8, G14)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§2 one request, units default to 1, dimension feature only (no model given, G14)",
      [genai(T, { feature: "summary" })],
      [`genai.interaction[feature=summary] @${T}`],
    ],
    [
      "§2 units are the quantity",
      [genai(T, { feature: "summary", units: 3 })],
      [`genai.interaction[feature=summary] x3 @${T}`],
    ],
    [
      "§2 fractional units",
      [genai(T, { feature: "translation", units: 0.25 })],
      [`genai.interaction[feature=translation] x0.25 @${T}`],
    ],
    [
      "§1.1 the model is a dimension when given",
      [genai(T, { feature: "bot_reply", model: "gpt-x", units: 2 })],
      [`genai.interaction[feature=bot_reply;model=gpt-x] x2 @${T}`],
    ],
    [
      "G8 each request is priced at its own time",
      [genai(T, { feature: "summary" }), genai("2025-07-20T12:34:56Z", { feature: "summary" })],
      [
        `genai.interaction[feature=summary] @${T}`,
        "genai.interaction[feature=summary] @2025-07-20T12:34:56Z",
      ],
    ],
    [
      "G3 requests of other periods are ignored",
      [
        genai("2025-06-30T23:59:59Z", { feature: "summary" }),
        genai("2025-07-01T00:00:00Z", { feature: "summary" }),
        genai("2025-08-01T00:00:00Z", { feature: "summary" }),
      ],
      ["genai.interaction[feature=summary] @2025-07-01T00:00:00Z"],
    ],
    ["§2 no request: no charge", [], []],
  ])("%s", (_name, events, charges) => {
    expect(run(rateGenAi, events)).toEqual(charges);
  });

  it("§2 quantity per line = Σ units (default 1, fractional kept exact) at one unit price", () => {
    const events = [
      genai(T, { feature: "summary" }),
      genai(at(1), { feature: "summary", units: 0.1 }),
      genai(at(2), { feature: "summary", units: 0.2 }),
      genai(at(3), { feature: "summary", units: 2.5 }),
      genai(at(4), { feature: "summary", model: "m1", units: 4 }),
    ];
    const out = rateGenAi({ account: account(), period: july, events: canonicalOrder(events) });
    const priced = priceCharges({
      account: account(),
      tariff: tariff([
        v2025([
          { product: "genai.interaction", match: { feature: "summary" }, unitPrice: "0.01" },
          { product: "genai.interaction", match: { feature: "summary", model: "m1" }, unitPrice: "0.05" },
        ]),
      ]),
      period: july,
      charges: out.charges,
      blocked: [],
    });
    expect(priced.suspense).toEqual([]);
    expect(
      priced.lines
        .map(
          (l) =>
            `${JSON.stringify(l.dimensions)} ${l.quantity.toFixed()} x ${l.unitPrice.toFixed()} = ${l.amount.toFixed(2)}`,
        )
        .sort(),
    ).toEqual([
      '{"feature":"summary","model":"m1"} 4 x 0.05 = 0.20',
      '{"feature":"summary"} 3.8 x 0.01 = 0.04', // 1 + 0.1 + 0.2 + 2.5 = 3.8 exactly; 0.038 → 0.04
    ]);
    expect(out.charges.reduce((s, c) => s.plus(c.quantity), dec(0)).toFixed()).toBe("7.8");
  });
});

/**
 * SaaS metrics and GEN AI rules (rating-rules §2, §2.1, G2, G3, G6, G8, G12, G14). One suite (issue
 * 13: saas.test.ts and saas-edge-cases.test.ts merged, each case once).
 */
import { describe, expect, it } from "vitest";
import type { AccountInput } from "../../../shared/contract/accounts.js";
import { dec } from "../../../shared/core/money.js";
import {
  rateAnswers,
  rateConversations,
  rateGenAi,
  rateMoments,
} from "../../../shared/core/products/saas/rule.js";
import { priceCharges } from "../../../shared/core/rating/pricing.js";
import type { LedgerEvent, ProductRule } from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { account, type EventInput, ev, tariff, v2025 } from "../../support/events.js";
import { rateInEveryOrder } from "../../support/orders.js";
import { iso, july, julyIst, june, rate, rateText } from "./harness.js";

const juneIst = periodWindow("2025-06", "Europe/Istanbul");
/** The charges in the rule's order, after checking it blocked and suspended nothing. */
const run = (
  rule: ProductRule,
  events: LedgerEvent[],
  period: PeriodWindow = july,
  over: Partial<AccountInput> = {},
) => {
  const out = rateText(rule, events, period, over);
  expect(out.blocked).toEqual([]);
  expect(out.suspense).toEqual([]);
  return out.charges;
};

const T = "2025-07-02T09:00:00Z";
const MIN = 60_000;
/** The instant `minutes` (+ `ms`) after `base`. */
const at = (minutes: number, ms = 0, base = T) => iso(Date.parse(base) + minutes * MIN + ms);
const JUN1 = "@2025-06-01T00:00:00Z";
const JUL1 = "@2025-07-01T00:00:00Z";
const IST_JUN1 = "@2025-05-31T21:00:00Z";
const IST_JUL1 = "@2025-06-30T21:00:00Z";
/** A per-period metric charge: `n` priced at the period's first instant (G8). */
const metric =
  (product: string) =>
  (n: number, start = JUL1) => [`${product}${n === 1 ? "" : ` x${n}`} ${start}`];

// -------------------------------------------------------------------------------------------------
// §2 conversations.active_agents
// -------------------------------------------------------------------------------------------------
const user = (time: string, userId: string, action: "added" | "removed", id?: string) =>
  ev("conversations.user", time, { userId, action }, id ? { id } : {});
const add = (time: string, userId: string, id?: string) => user(time, userId, "added", id);
const rem = (time: string, userId: string, id?: string) => user(time, userId, "removed", id);
const agents = metric("conversations.active_agents");

describe("rateConversations: conversations.active_agents (§2 peak named users)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§2 users provisioned before the period count from its first instant",
      [add("2025-05-10T10:00:00Z", "u1"), add("2025-06-20T10:00:00Z", "u2")],
      agents(2),
    ],
    [
      "§2 users provisioned before the period plus users added in it",
      [add("2025-06-20T10:00:00Z", "u1"), add(T, "u2"), add(at(60), "u3")],
      agents(3),
    ],
    [
      "§2 provisioned before and removed during the period: counted (they were there at its first instant)",
      [
        add("2025-06-20T10:00:00Z", "u1"),
        add("2025-06-21T10:00:00Z", "u2"),
        rem("2025-07-05T10:00:00Z", "u1"),
      ],
      agents(2),
    ],
    [
      "§2 removed before the period: not counted",
      [
        add("2025-05-10T10:00:00Z", "u1"),
        rem("2025-06-10T10:00:00Z", "u1"),
        add("2025-06-20T10:00:00Z", "u2"),
      ],
      agents(1),
    ],
    [
      "§2 G12 removed exactly at the period's first instant: provisioned on [added, removed), not counted",
      [
        add("2025-06-10T10:00:00Z", "u1"),
        rem("2025-07-01T00:00:00Z", "u1"),
        add("2025-06-20T10:00:00Z", "u2"),
      ],
      agents(1),
    ],
    [
      "§2 peak, not the final count nor the number of distinct users: 3 at once, later 1",
      [
        add("2025-07-02T10:00:00Z", "u1"),
        add("2025-07-03T10:00:00Z", "u2"),
        add("2025-07-04T10:00:00Z", "u3"),
        rem("2025-07-05T10:00:00Z", "u1"),
        rem("2025-07-05T11:00:00Z", "u2"),
        add("2025-07-06T10:00:00Z", "u4"),
      ],
      agents(3),
    ],
    [
      "§2 peak of users provisioned at the same time, not every user seen in the period",
      [add(T, "u1"), rem(at(60), "u1"), add(at(120), "u2"), rem(at(180), "u2"), add(at(240), "u3")],
      agents(1),
    ],
    [
      "§2 removing and re-adding a user costs nothing extra",
      [
        add("2025-07-02T10:00:00Z", "u1"),
        rem("2025-07-03T10:00:00Z", "u1"),
        add("2025-07-04T10:00:00Z", "u1"),
        rem("2025-07-05T10:00:00Z", "u1"),
        add("2025-07-06T10:00:00Z", "u1"),
      ],
      agents(1),
    ],
    [
      "§2 removing in June and re-adding in July: one user",
      [add("2025-06-02T10:00:00Z", "u1"), rem("2025-06-20T10:00:00Z", "u1"), add(T, "u1")],
      agents(1),
    ],
    [
      "§2 a user 'added' twice without removal counts once",
      [add("2025-06-02T10:00:00Z", "u1"), add("2025-07-02T10:00:00Z", "u1")],
      agents(1),
    ],
    [
      "§2 a removal of a user never added changes nothing",
      [rem("2025-07-02T10:00:00Z", "ghost"), add("2025-07-03T10:00:00Z", "u1")],
      agents(1),
    ],
    [
      "§2 (policy) a swap at one instant is not a moment with both provisioned (removal listed last)",
      [
        add("2025-06-02T10:00:00Z", "u1"),
        add("2025-07-02T10:00:00Z", "u2", "a"),
        rem("2025-07-02T10:00:00Z", "u1", "b"),
      ],
      agents(1),
    ],
    [
      "§2 (policy) a swap at one instant, removal listed first: still 1",
      [
        add("2025-06-02T10:00:00Z", "u1"),
        rem("2025-07-02T10:00:00Z", "u1", "a"),
        add("2025-07-02T10:00:00Z", "u2", "b"),
      ],
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
    [
      "§2 users added at the period's last millisecond count; the lead's pricing does the first-month proration",
      [add("2025-07-31T23:59:59.999Z", "u1"), add("2025-07-31T23:59:59.999Z", "u2")],
      agents(2),
    ],
    ["§2 nothing free gives a charge: no user → no charge", [], []],
    ["§2 only removals: no charge", [rem(T, "u1")], []],
    [
      "§2 every user removed before the period → no charge",
      [add("2025-05-02T10:00:00Z", "u1"), rem("2025-06-02T10:00:00Z", "u1")],
      [],
    ],
    [
      "§2 users added after the period are not in its input (t < period end) and do not count",
      [add("2025-07-02T10:00:00Z", "u1"), add("2025-08-01T00:00:00Z", "u2")],
      agents(1),
    ],
  ])("%s", (_name, events, expected) => {
    expect(run(rateConversations, events)).toEqual(expected);
  });

  it("G8 the peak is a per-period charge priced at the period's first instant: June and July their own peaks", () => {
    const events = [
      add("2025-06-02T10:00:00Z", "u1"),
      add("2025-06-03T10:00:00Z", "u2"),
      add("2025-06-04T10:00:00Z", "u3"),
      rem("2025-06-05T10:00:00Z", "u3"),
      rem("2025-06-06T10:00:00Z", "u2"),
      add("2025-07-10T10:00:00Z", "u4"),
    ];
    expect(run(rateConversations, events, june)).toEqual(agents(3, JUN1));
    expect(run(rateConversations, events, july)).toEqual(agents(2));
  });

  it("G3 the period's first instant is the account's midnight (Europe/Istanbul, UTC+3)", () => {
    // Removed at 2025-06-30T22:00Z = 1 July 01:00 in Istanbul: u1 was there at July's first instant.
    const removedAt1am = [add("2025-06-10T10:00:00Z", "u1"), rem("2025-06-30T22:00:00Z", "u1")];
    expect(run(rateConversations, removedAt1am, julyIst)).toEqual(agents(1, IST_JUL1));
    expect(run(rateConversations, removedAt1am, july)).toEqual([]);
    // 20:59:59Z on 30 June is 23:59:59 in Istanbul (June there); 21:00:01Z is 1 July 00:00:01.
    const events = [
      add("2025-06-30T20:59:59Z", "u1"),
      rem("2025-06-30T21:00:01Z", "u1"),
      add("2025-06-30T21:30:00Z", "u2"),
    ];
    expect(run(rateConversations, events, juneIst)).toEqual(agents(1, IST_JUN1));
    // u1 was still provisioned at July's first instant there; u2 came after u1 left: peak 1.
    expect(run(rateConversations, events, julyIst)).toEqual(agents(1, IST_JUL1));
  });
});

// -------------------------------------------------------------------------------------------------
// §2 conversations.active_conversations
// -------------------------------------------------------------------------------------------------
type ConversationMessage = EventInput<"conversations.message">;
const msg = (
  time: string,
  conversationId: string,
  direction: ConversationMessage["direction"] = "inbound",
  extra: Partial<ConversationMessage> = {},
) => ev("conversations.message", time, { conversationId, direction, ...extra });
const convs = metric("conversations.active_conversations");

describe("rateConversations: conversations.active_conversations (§2 distinct conversations)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§2 distinct conversation ids with at least one message, either direction (c2 has only outbound)",
      [
        msg("2025-07-02T10:00:00Z", "c1"),
        msg("2025-07-02T10:01:00Z", "c1", "outbound"),
        msg("2025-07-03T10:00:00Z", "c2", "outbound"),
        msg("2025-07-04T10:00:00Z", "c3"),
        msg("2025-07-20T10:00:00Z", "c1"),
      ],
      convs(3),
    ],
    [
      "§2 a conversation active in June and July counts in both; June messages alone do not count in July",
      [
        msg("2025-06-30T23:59:59Z", "c1"),
        msg("2025-07-01T00:00:00Z", "c1"),
        msg("2025-06-20T10:00:00Z", "c2"),
      ],
      convs(1),
    ],
    [
      "§2 messages in other periods are ignored",
      [msg("2025-06-30T23:59:59Z", "c-june"), msg(T, "c1"), msg("2025-08-01T00:00:00Z", "c-august")],
      convs(1),
    ],
    ["§2 no message in the period: no charge", [msg("2025-06-15T10:00:00Z", "c1")], []],
  ])("%s", (_name, events, expected) => {
    expect(run(rateConversations, events)).toEqual(expected);
  });

  it("§2 both metrics side by side: users are not conversations", () => {
    expect(run(rateConversations, [add(T, "u1"), msg(T, "c1"), msg(T, "c2")])).toEqual([
      ...agents(1),
      ...convs(2),
    ]);
  });

  it("G2 Signals-blocked messages count in nothing; a conversation active only through them is reported", () => {
    const out = rateText(rateConversations, [
      msg("2025-07-02T10:00:00Z", "c1", "outbound", { blocked: true }),
      msg("2025-07-02T10:01:00Z", "c1", "outbound"),
      msg("2025-07-03T10:00:00Z", "c2", "outbound", { blocked: true }),
      msg("2025-07-03T10:05:00Z", "c2", "outbound", { blocked: true }),
    ]);
    expect(out.charges).toEqual(convs(1));
    expect(out.blocked).toEqual(convs(1));
    expect(out.suspense).toEqual([]);
  });

  it("G3 a message at 23:30 UTC on 30 June is a July message for an Istanbul account", () => {
    const events = [msg("2025-06-30T21:30:00Z", "c1")];
    expect(run(rateConversations, events, julyIst)).toEqual(convs(1, IST_JUL1));
    expect(run(rateConversations, events, july)).toEqual([]);
  });
});

// -------------------------------------------------------------------------------------------------
// §2 moments.engaged_people
// -------------------------------------------------------------------------------------------------
const flow = (time: string, endUserId: string, flowId = "f1") =>
  ev("moments.flow_entered", time, { endUserId, flowId });
const people = metric("moments.engaged_people");

describe("rateMoments: moments.engaged_people (§2 distinct end users entering a flow)", () => {
  it.each<[string, LedgerEvent[], PeriodWindow, string[]]>([
    [
      "§2 an end user counts once a period however many flows they enter, and the same flow again",
      [
        flow("2025-07-02T10:00:00Z", "p1", "f1"),
        flow("2025-07-02T11:00:00Z", "p1", "f2"),
        flow("2025-07-09T11:00:00Z", "p1", "f1"),
        flow("2025-07-03T10:00:00Z", "p2", "f1"),
      ],
      july,
      people(2),
    ],
    [
      "§2 counted again in each period they enter a flow; June entries do not count in July",
      [
        flow("2025-06-20T10:00:00Z", "p1"),
        flow("2025-06-21T10:00:00Z", "p2"),
        flow("2025-07-02T10:00:00Z", "p1"),
      ],
      july,
      people(1),
    ],
    [
      "§2 the June close sees the June entries only",
      [
        flow("2025-06-20T10:00:00Z", "p1"),
        flow("2025-06-21T10:00:00Z", "p2"),
        flow("2025-07-02T10:00:00Z", "p3"),
      ],
      june,
      people(2, JUN1),
    ],
    ["§2 nobody entered a flow in the period → no charge", [flow("2025-06-20T10:00:00Z", "p1")], july, []],
    [
      "G3 the period boundary in the account's time zone (Europe/Istanbul)",
      [flow("2025-06-30T20:59:59Z", "p1"), flow("2025-06-30T21:00:00Z", "p2")],
      julyIst,
      people(1, IST_JUL1),
    ],
  ])("%s", (_name, events, period, expected) => {
    expect(run(rateMoments, events, period)).toEqual(expected);
  });
});

// -------------------------------------------------------------------------------------------------
// §2.1 answers.active_sessions
// -------------------------------------------------------------------------------------------------
const ans = (
  time: string,
  direction: "inbound" | "outbound",
  endUserId = "u1",
  botId = "b1",
  blocked?: boolean,
) => ev("answers.message", time, { botId, endUserId, direction, ...(blocked ? { blocked } : {}) });
const inb = (time: string, endUserId?: string, botId?: string) => ans(time, "inbound", endUserId, botId);
const outb = (time: string, endUserId?: string, botId?: string) => ans(time, "outbound", endUserId, botId);
const ended = (
  time: string,
  reason: "completed" | "transferred" = "completed",
  endUserId = "u1",
  botId = "b1",
  id?: string,
) => ev("answers.session_ended", time, { botId, endUserId, reason }, id ? { id } : {});
const sessions = metric("answers.active_sessions");
const T30 = { settings: { answersSessionTimeoutMinutes: 30 } };

describe("rateAnswers: answers.active_sessions (§2.1)", () => {
  it.each<[string, LedgerEvent[], Partial<AccountInput>, string[]]>([
    [
      "§2.1 an inbound message opens a session; messages inside it open nothing",
      [inb(at(0)), outb(at(1)), inb(at(2)), outb(at(3))],
      T30,
      sessions(1),
    ],
    ["§2.1 outbound bot messages never open a session", [outb(at(0)), outb(at(5)), outb(at(60))], T30, []],
    [
      "§2.1 outbound before any inbound opens nothing; the inbound then opens one",
      [outb(at(0)), inb(at(1))],
      T30,
      sessions(1),
    ],
    [
      "§2.1 G12 an inbound at exactly the timeout after the last message finds the session closed → new session",
      [inb(at(0)), inb(at(30))],
      T30,
      sessions(2),
    ],
    [
      "§2.1 G12 an inbound 1 ms before the timeout is inside the session",
      [inb(at(0)), inb(at(30, -1))],
      T30,
      sessions(1),
    ],
    [
      "§2.1 the timeout runs from the last message from either side: a bot reply extends it",
      [inb(at(0)), outb(at(20)), inb(at(45))],
      T30,
      sessions(1),
    ],
    [
      "G12 … and the extended session ends exactly +timeout after that outbound message",
      [inb(at(0)), outb(at(20)), inb(at(50))],
      T30,
      sessions(2),
    ],
    [
      "§2.1 G12 an outbound at exactly the timeout does not reopen or extend; the next inbound opens a new session",
      [inb(at(0)), outb(at(30)), inb(at(31))],
      T30,
      sessions(2),
    ],
    [
      "§2.1 a chain of messages each under the timeout keeps one session for hours",
      [inb(at(0)), outb(at(29)), inb(at(58)), outb(at(87)), inb(at(116))],
      T30,
      sessions(1),
    ],
    [
      "§2.1 inbound messages alone keep extending it: a chain 25 min apart is one session",
      [inb(at(0)), inb(at(25)), inb(at(50)), inb(at(75)), inb(at(100))],
      T30,
      sessions(1),
    ],
    [
      "§2.1 answers.session_ended (completed) closes it; the next inbound opens another",
      [inb(at(0)), ended(at(5)), inb(at(6))],
      T30,
      sessions(2),
    ],
    [
      "§2.1 session_ended transferred (to an agent) closes the session: the next inbound opens a new one",
      [inb(at(0)), outb(at(1)), ended(at(2), "transferred"), inb(at(3))],
      T30,
      sessions(2),
    ],
    [
      "§2.1 answers.session_ended (transferred to an agent) closes it; bot messages after it open nothing",
      [inb(at(0)), ended(at(5), "transferred"), outb(at(6))],
      T30,
      sessions(1),
    ],
    [
      "§2.1 G12 an inbound at the same instant as session_ended is taken first: inside the ended session",
      [ended(at(5), "completed", "u1", "b1", "a-first-id"), inb(at(0)), inb(at(5))],
      T30,
      sessions(1),
    ],
    [
      "G12 same instant as an inbound, an outbound message opens nothing of its own",
      [outb(at(0)), inb(at(0)), outb(at(29)), inb(at(58))],
      T30,
      sessions(1),
    ],
    [
      "§2.1 session_ended with no open session changes nothing",
      [ended(at(0)), inb(at(1)), inb(at(2))],
      T30,
      sessions(1),
    ],
    [
      "§2.1 sessions are per (bot, end user)",
      [inb(at(0), "u1", "b1"), inb(at(1), "u2", "b1"), inb(at(2), "u1", "b2"), inb(at(3), "u1", "b1")],
      T30,
      sessions(3),
    ],
    [
      "§2.1 session_ended closes only its own (bot, end user) session",
      [
        inb(at(0), "u1"),
        inb(at(0), "u2"),
        ended(at(1), "completed", "u2"),
        inb(at(2), "u1"),
        inb(at(2), "u2"),
      ],
      T30,
      sessions(3),
    ],
    [
      "§2.1 an outbound message to another pair does not extend this one",
      [inb(at(0), "u1"), outb(at(20), "u2"), inb(at(45), "u1")],
      T30,
      sessions(2),
    ],
    [
      "§2.1 default timeout 1440 min (policy): an inbound 23 h 59 min later is inside",
      [inb(at(0)), inb(at(1439))],
      {},
      sessions(1),
    ],
    [
      "§2.1 G12 default timeout: an inbound exactly 24 h later opens a new session",
      [inb(at(0)), inb(at(1440))],
      {},
      sessions(2),
    ],
    [
      "§2.1 the timeout is the account's setting (answersSessionTimeoutMinutes 5): +4 min inside",
      [inb(at(0)), inb(at(4))],
      { settings: { answersSessionTimeoutMinutes: 5 } },
      sessions(1),
    ],
    [
      "§2.1 the timeout is the account's setting (answersSessionTimeoutMinutes 5): +5 min a new session",
      [inb(at(0)), inb(at(5))],
      { settings: { answersSessionTimeoutMinutes: 5 } },
      sessions(2),
    ],
    [
      "G2 a Signals-blocked outbound message is no activity: it does not extend the session",
      [inb(at(0)), ans(at(20), "outbound", "u1", "b1", true), inb(at(45))],
      T30,
      sessions(2),
    ],
    ["§2.1 no Answers traffic: no charge", [], T30, []],
  ])("%s", (_name, events, over, expected) => {
    expect(run(rateAnswers, events, july, over)).toEqual(expected);
  });

  it("§2.1 (policy) a session opened in June keeps covering July messages and is counted in June only", () => {
    const events = [
      inb("2025-06-30T23:50:00Z"), // opens a June session
      inb("2025-07-01T00:10:00Z"),
      outb("2025-07-01T00:30:00Z"),
      inb("2025-07-01T00:55:00Z"), // 25 min after the outbound: still the June session
    ];
    expect(run(rateAnswers, events, july, T30)).toEqual([]);
    expect(run(rateAnswers, events, june, T30)).toEqual(sessions(1, JUN1));
  });

  it("§2.1 (policy) a June session extended into July then timed out: the next July inbound opens a July session", () => {
    const events = [
      inb("2025-06-30T23:50:00Z"),
      inb("2025-07-01T00:10:00Z"),
      inb("2025-07-01T00:40:00Z"), // exactly +30 min: a new session, opened in July
      inb("2025-07-01T01:00:00Z"),
    ];
    expect(run(rateAnswers, events, june, T30)).toEqual(sessions(1, JUN1));
    expect(run(rateAnswers, events, july, T30)).toEqual(sessions(1));
  });

  it("§2.1 a session opened in June and ended there does not affect July's count", () => {
    const events = [inb("2025-06-30T23:00:00Z"), ended("2025-06-30T23:05:00Z"), inb(T)];
    expect(run(rateAnswers, events, july, T30)).toEqual(sessions(1));
  });

  it("G3 a session opened at 00:30 on 1 July in Istanbul (30 June 21:30Z) is July's there, June's in UTC", () => {
    const events = [inb("2025-06-30T21:30:00Z", "u1"), inb("2025-06-30T20:30:00Z", "u2")];
    expect(run(rateAnswers, events, julyIst, T30)).toEqual(sessions(1, IST_JUL1));
    expect(run(rateAnswers, events, juneIst, T30)).toEqual(sessions(1, IST_JUN1));
    expect(run(rateAnswers, [inb("2025-06-30T21:30:00Z")], june, T30)).toEqual(sessions(1, JUN1));
  });
});

// -------------------------------------------------------------------------------------------------
// §2 genai.interaction
// -------------------------------------------------------------------------------------------------
const gen = (time: string, data: EventInput<"genai.interaction">) => ev("genai.interaction", time, data);

describe("rateGenAi: genai.interaction (§2, per event, G8, G14)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§2 units default to 1; G14 without a model the only dimension is the feature; priced at the event's time (G8)",
      [gen(T, { feature: "summary" })],
      [`genai.interaction[feature=summary] @${T}`],
    ],
    [
      "§2 quantity = units (may be fractional); §1.1 the model is a dimension when given",
      [
        gen("2025-07-02T10:00:00Z", { feature: "translation", model: "m-large", units: 3 }),
        gen("2025-07-03T10:00:00Z", { feature: "bot_reply", model: "m-small", units: 0.5 }),
        gen("2025-07-04T10:00:00Z", { feature: "translation", units: 0.25 }),
      ],
      [
        "genai.interaction[feature=translation;model=m-large] x3 @2025-07-02T10:00:00Z",
        "genai.interaction[feature=bot_reply;model=m-small] x0.5 @2025-07-03T10:00:00Z",
        "genai.interaction[feature=translation] x0.25 @2025-07-04T10:00:00Z",
      ],
    ],
    [
      "G14 without a model the charge has only the feature dimension",
      [gen("2025-07-02T10:00:00Z", { feature: "suggested_reply", units: 2 })],
      ["genai.interaction[feature=suggested_reply] x2 @2025-07-02T10:00:00Z"],
    ],
    [
      "G8 each request is priced at its own time",
      [gen(T, { feature: "summary" }), gen("2025-07-20T12:34:56Z", { feature: "summary" })],
      [
        `genai.interaction[feature=summary] @${T}`,
        "genai.interaction[feature=summary] @2025-07-20T12:34:56Z",
      ],
    ],
    [
      "G3 requests of other periods are not charged in this one; both ends of the period are",
      [
        gen("2025-06-30T23:59:59Z", { feature: "summary" }),
        gen("2025-07-01T00:00:00Z", { feature: "summary" }),
        gen("2025-07-31T23:59:59Z", { feature: "summary" }),
        gen("2025-08-01T00:00:00Z", { feature: "summary" }),
      ],
      [
        "genai.interaction[feature=summary] @2025-07-01T00:00:00Z",
        "genai.interaction[feature=summary] @2025-07-31T23:59:59Z",
      ],
    ],
    ["§2 no request → no charge", [], []],
  ])("%s", (_name, events, expected) => {
    expect(run(rateGenAi, events)).toEqual(expected);
  });

  it("§2 quantity per line = Σ units (default 1, fractional kept exact) at one unit price", () => {
    const events = [
      gen(T, { feature: "summary" }),
      gen(at(1), { feature: "summary", units: 0.1 }),
      gen(at(2), { feature: "summary", units: 0.2 }),
      gen(at(3), { feature: "summary", units: 2.5 }),
      gen(at(4), { feature: "summary", model: "m1", units: 4 }),
    ];
    const out = rate(rateGenAi, events);
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

// -------------------------------------------------------------------------------------------------
// G6 arrival order does not matter
// -------------------------------------------------------------------------------------------------
describe("G6 the charges do not depend on arrival order: adversarial orders through ratePeriod", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "every SaaS metric, with same-instant swaps and session ends",
      [
        add("2025-06-02T10:00:00Z", "u1"),
        add("2025-07-02T10:00:00Z", "u2"),
        rem("2025-07-02T10:00:00Z", "u1"), // same instant as u2's add: a swap, never both (policy)
        add("2025-07-03T10:00:00Z", "u3"),
        msg("2025-07-02T10:00:00Z", "c1"),
        msg("2025-07-02T10:00:00Z", "c2", "outbound"),
        flow("2025-07-04T10:00:00Z", "p1"),
        flow("2025-07-04T10:00:00Z", "p1", "f2"),
        inb("2025-06-30T23:50:00Z"),
        inb("2025-07-01T00:19:00Z"),
        ended("2025-07-01T00:19:00Z"), // same instant as an inbound: the inbound first (policy)
        inb("2025-07-01T00:19:30Z"),
        outb("2025-07-01T00:40:00Z"),
        inb("2025-07-01T00:49:30Z"),
        gen("2025-07-05T10:00:00Z", { feature: "summary", units: 2 }),
      ],
      [
        "usage conversations.active_agents x2",
        "usage conversations.active_conversations x2",
        "usage moments.engaged_people x1",
        "usage answers.active_sessions x1",
        "usage genai.interaction[feature=summary] x2",
      ],
    ],
    [
      "Answers sessions ended at the instant of an inbound",
      [
        inb(T),
        outb(at(20)),
        inb(at(45)),
        ended(at(46)),
        inb(at(47), "u2"),
        // Same instant: u3's inbound and the end of its session (the inbound first, policy), then a new one.
        inb(at(60), "u3"),
        ended(at(60), "completed", "u3"),
        inb(at(61), "u3"),
      ],
      ["usage answers.active_sessions x4"],
    ],
  ])("%s", (_name, events, lines) => {
    expect(rateInEveryOrder(events, "2025-07", T30)).toEqual(lines);
  });
});

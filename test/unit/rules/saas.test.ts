/** SaaS metrics and GEN AI rules (rating-rules §2, §2.1, G2, G3, G6, G8, G12, G14). */
import { describe, expect, it } from "vitest";
import { type AccountInput, accountSchema } from "../../../shared/contract/accounts.js";
import { canonicalOrder } from "../../../shared/core/rating/ordering.js";
import {
  rateAnswers,
  rateConversations,
  rateGenAi,
  rateMoments,
} from "../../../shared/core/rating/rules/saas.js";
import type { Charge, LedgerEvent, ProductRule, RuleOutput } from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { ev } from "../../support/events.js";
import { rateInEveryOrder } from "../../support/orders.js";

const july = periodWindow("2025-07", "UTC");
const june = periodWindow("2025-06", "UTC");
const julyIst = periodWindow("2025-07", "Europe/Istanbul"); // starts 2025-06-30T21:00:00Z

const iso = (t: number) => new Date(t).toISOString().replace(".000Z", "Z");
/** "product[k=v;…] xQ @pricedAt", dimensions sorted by key. */
const fmt = (c: Charge) => {
  const d = Object.keys(c.dimensions)
    .sort()
    .map((k) => `${k}=${c.dimensions[k]}`)
    .join(";");
  return `${c.product}${d ? `[${d}]` : ""} x${c.quantity.toFixed()} @${iso(c.pricedAt)}`;
};

function output(
  rule: ProductRule,
  events: LedgerEvent[],
  period: PeriodWindow = july,
  over: Partial<AccountInput> = {},
): RuleOutput {
  const account = accountSchema.parse({
    accountId: "acme",
    name: "Acme",
    currency: "EUR",
    tariffId: "t1",
    timezone: period.timezone,
    ...over,
  });
  // As the engine does: the account's whole history before the period's end, in canonical order.
  return rule({ account, period, events: canonicalOrder(events.filter((e) => e.t < period.end)) });
}
const run = (...args: Parameters<typeof output>) => {
  const out = output(...args);
  expect(out.suspense ?? []).toEqual([]);
  return out.charges.map(fmt);
};

const JUL1 = "@2025-07-01T00:00:00Z";
const JUN1 = "@2025-06-01T00:00:00Z";

// -------------------------------------------------------------------------------------------------
// §2 conversations.active_agents
// -------------------------------------------------------------------------------------------------
const add = (time: string, userId: string, id?: string) =>
  ev("conversations.user", time, { userId, action: "added" }, id);
const rem = (time: string, userId: string, id?: string) =>
  ev("conversations.user", time, { userId, action: "removed" }, id);
const agents = (n: number, at = JUL1) => [`conversations.active_agents x${n} ${at}`];

describe("rateConversations: conversations.active_agents (§2 peak named users)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§2 users provisioned before the period count from its first instant",
      [add("2025-05-10T10:00:00Z", "u1"), add("2025-06-20T10:00:00Z", "u2")],
      agents(2),
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
      "§2 users added at the period's last millisecond count; the lead's pricing does the first-month proration",
      [add("2025-07-31T23:59:59.999Z", "u1"), add("2025-07-31T23:59:59.999Z", "u2")],
      agents(2),
    ],
    ["§2 nothing free gives a charge: no user → no charge", [], []],
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

  it("G3 the period starts at the account's midnight (Europe/Istanbul, UTC+3)", () => {
    // Removed at 2025-06-30T22:00Z = 1 July 01:00 in Istanbul: u1 was there at July's first instant.
    const events = [add("2025-06-10T10:00:00Z", "u1"), rem("2025-06-30T22:00:00Z", "u1")];
    expect(run(rateConversations, events, julyIst)).toEqual(agents(1, "@2025-06-30T21:00:00Z"));
    expect(run(rateConversations, events, july)).toEqual([]);
  });

  it("§2 the same history gives June and July their own peaks", () => {
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
});

// -------------------------------------------------------------------------------------------------
// §2 conversations.active_conversations
// -------------------------------------------------------------------------------------------------
const msg = (
  time: string,
  conversationId: string,
  direction = "inbound",
  extra: Record<string, unknown> = {},
) => ev("conversations.message", time, { conversationId, direction, ...extra });

describe("rateConversations: conversations.active_conversations (§2 distinct conversations)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§2 distinct conversation ids with at least one message, either direction",
      [
        msg("2025-07-02T10:00:00Z", "c1"),
        msg("2025-07-02T10:01:00Z", "c1", "outbound"),
        msg("2025-07-03T10:00:00Z", "c2", "outbound"),
        msg("2025-07-04T10:00:00Z", "c3"),
        msg("2025-07-20T10:00:00Z", "c1"),
      ],
      [`conversations.active_conversations x3 ${JUL1}`],
    ],
    [
      "§2 a conversation active in June and July counts in both; June messages alone do not count in July",
      [
        msg("2025-06-30T23:59:59Z", "c1"),
        msg("2025-07-01T00:00:00Z", "c1"),
        msg("2025-06-20T10:00:00Z", "c2"),
      ],
      [`conversations.active_conversations x1 ${JUL1}`],
    ],
    ["§2 no message → no charge", [], []],
  ])("%s", (_name, events, expected) => {
    expect(run(rateConversations, events)).toEqual(expected);
  });

  it("G2 Signals-blocked messages count in nothing; a conversation active only through them is reported", () => {
    const out = output(rateConversations, [
      msg("2025-07-02T10:00:00Z", "c1", "outbound", { blocked: true }),
      msg("2025-07-02T10:01:00Z", "c1", "outbound"),
      msg("2025-07-03T10:00:00Z", "c2", "outbound", { blocked: true }),
      msg("2025-07-03T10:05:00Z", "c2", "outbound", { blocked: true }),
    ]);
    expect(out.charges.map(fmt)).toEqual([`conversations.active_conversations x1 ${JUL1}`]);
    expect((out.blocked ?? []).map(fmt)).toEqual([`conversations.active_conversations x1 ${JUL1}`]);
  });

  it("G3 a message at 23:30 UTC on 30 June is a July message for an Istanbul account", () => {
    const events = [msg("2025-06-30T21:30:00Z", "c1")];
    expect(run(rateConversations, events, julyIst)).toEqual([
      "conversations.active_conversations x1 @2025-06-30T21:00:00Z",
    ]);
    expect(run(rateConversations, events, july)).toEqual([]);
  });
});

// -------------------------------------------------------------------------------------------------
// §2 moments.engaged_people
// -------------------------------------------------------------------------------------------------
const flow = (time: string, endUserId: string, flowId = "f1") =>
  ev("moments.flow_entered", time, { endUserId, flowId });

describe("rateMoments: moments.engaged_people (§2 distinct end users entering a flow)", () => {
  it.each<[string, LedgerEvent[], PeriodWindow, string[]]>([
    [
      "§2 an end user counts once a period however many flows they enter",
      [
        flow("2025-07-02T10:00:00Z", "p1", "f1"),
        flow("2025-07-02T11:00:00Z", "p1", "f2"),
        flow("2025-07-09T11:00:00Z", "p1", "f1"),
        flow("2025-07-03T10:00:00Z", "p2", "f1"),
      ],
      july,
      [`moments.engaged_people x2 ${JUL1}`],
    ],
    [
      "§2 counted again in each period they enter a flow; June entries do not count in July",
      [
        flow("2025-06-20T10:00:00Z", "p1"),
        flow("2025-06-21T10:00:00Z", "p2"),
        flow("2025-07-02T10:00:00Z", "p1"),
      ],
      july,
      [`moments.engaged_people x1 ${JUL1}`],
    ],
    [
      "§2 the June close sees the June entries only",
      [
        flow("2025-06-20T10:00:00Z", "p1"),
        flow("2025-06-21T10:00:00Z", "p2"),
        flow("2025-07-02T10:00:00Z", "p3"),
      ],
      june,
      [`moments.engaged_people x2 ${JUN1}`],
    ],
    ["§2 nobody entered a flow → no charge", [flow("2025-06-20T10:00:00Z", "p1")], july, []],
    [
      "G3 the period boundary in the account's time zone (Europe/Istanbul)",
      [flow("2025-06-30T20:59:59Z", "p1"), flow("2025-06-30T21:00:00Z", "p2")],
      julyIst,
      ["moments.engaged_people x1 @2025-06-30T21:00:00Z"],
    ],
  ])("%s", (_name, events, period, expected) => {
    expect(run(rateMoments, events, period)).toEqual(expected);
  });
});

// -------------------------------------------------------------------------------------------------
// §2.1 answers.active_sessions
// -------------------------------------------------------------------------------------------------
const MIN = 60_000;
const T0 = "2025-07-02T09:00:00Z";
/** The instant `minutes` (+ `ms`) after `base`. */
const at = (minutes: number, ms = 0, base = T0) => iso(Date.parse(base) + minutes * MIN + ms);
const ans = (
  time: string,
  direction: "inbound" | "outbound",
  endUserId = "u1",
  botId = "b1",
  extra: Record<string, unknown> = {},
) => ev("answers.message", time, { botId, endUserId, direction, ...extra });
const inb = (time: string, endUserId?: string, botId?: string) => ans(time, "inbound", endUserId, botId);
const outb = (time: string, endUserId?: string, botId?: string) => ans(time, "outbound", endUserId, botId);
const ended = (time: string, reason = "completed", endUserId = "u1", botId = "b1", id?: string) =>
  ev("answers.session_ended", time, { botId, endUserId, reason }, id);
const sessions = (n: number, at = JUL1) => [`answers.active_sessions x${n} ${at}`];
const T30 = { settings: { answersSessionTimeoutMinutes: 30 } };

describe("rateAnswers: answers.active_sessions (§2.1)", () => {
  it.each<[string, LedgerEvent[], Partial<AccountInput>, string[]]>([
    [
      "§2.1 an inbound message opens a session; messages inside it open nothing",
      [inb(at(0)), outb(at(1)), inb(at(2)), outb(at(3))],
      T30,
      sessions(1),
    ],
    ["§2.1 outbound bot messages never open a session", [outb(at(0)), outb(at(5))], T30, []],
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
      "§2.1 answers.session_ended (completed) closes it; the next inbound opens another",
      [inb(at(0)), ended(at(5)), inb(at(6))],
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
      "G2 a Signals-blocked outbound message is no activity: it does not extend the session",
      [inb(at(0)), ans(at(20), "outbound", "u1", "b1", { blocked: true }), inb(at(45))],
      T30,
      sessions(2),
    ],
  ])("%s", (_name, events, over, expected) => {
    const out = output(rateAnswers, events, july, over);
    expect(out.charges.map(fmt)).toEqual(expected);
    expect(out.blocked ?? []).toEqual([]);
  });

  it("§2.1 (policy) a session opened in June counts in June only, and keeps covering July messages", () => {
    const events = [inb("2025-06-30T23:50:00Z"), outb("2025-07-01T00:10:00Z"), inb("2025-07-01T00:30:00Z")];
    expect(run(rateAnswers, events, june, T30)).toEqual(sessions(1, JUN1));
    expect(run(rateAnswers, events, july, T30)).toEqual([]);
  });

  it("§2.1 a June session extended into July then timed out: the next July inbound opens a July session", () => {
    const events = [inb("2025-06-30T23:50:00Z"), inb("2025-07-01T00:10:00Z"), inb("2025-07-01T00:45:00Z")];
    expect(run(rateAnswers, events, june, T30)).toEqual(sessions(1, JUN1));
    expect(run(rateAnswers, events, july, T30)).toEqual(sessions(1));
  });

  it("G3 an inbound at 00:30 Istanbul time on 1 July opens a July session for an Istanbul account", () => {
    const events = [inb("2025-06-30T21:30:00Z")];
    expect(run(rateAnswers, events, julyIst, T30)).toEqual(sessions(1, "@2025-06-30T21:00:00Z"));
    expect(run(rateAnswers, events, june, T30)).toEqual(sessions(1, JUN1));
  });
});

// -------------------------------------------------------------------------------------------------
// §2 genai.interaction
// -------------------------------------------------------------------------------------------------
const gen = (time: string, data: Record<string, unknown>, id?: string) =>
  ev("genai.interaction", time, data, id);

describe("rateGenAi: genai.interaction (§2, per event, G8)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§2 units default to 1; priced at the event's time (G8)",
      [gen("2025-07-02T10:00:00Z", { feature: "summary" })],
      ["genai.interaction[feature=summary] x1 @2025-07-02T10:00:00Z"],
    ],
    [
      "§2 quantity = units (may be fractional), dimensions feature and model",
      [
        gen("2025-07-02T10:00:00Z", { feature: "translation", model: "m-large", units: 3 }),
        gen("2025-07-03T10:00:00Z", { feature: "bot_reply", model: "m-small", units: 0.5 }),
      ],
      [
        "genai.interaction[feature=translation;model=m-large] x3 @2025-07-02T10:00:00Z",
        "genai.interaction[feature=bot_reply;model=m-small] x0.5 @2025-07-03T10:00:00Z",
      ],
    ],
    [
      "G14 without a model the charge has only the feature dimension",
      [gen("2025-07-02T10:00:00Z", { feature: "suggested_reply", units: 2 })],
      ["genai.interaction[feature=suggested_reply] x2 @2025-07-02T10:00:00Z"],
    ],
    [
      "G3 requests of other periods are not charged in this one",
      [
        gen("2025-06-30T23:59:59Z", { feature: "summary" }),
        gen("2025-07-31T23:59:59Z", { feature: "summary" }),
      ],
      ["genai.interaction[feature=summary] x1 @2025-07-31T23:59:59Z"],
    ],
    ["§2 no request → no charge", [], []],
  ])("%s", (_name, events, expected) => {
    expect(run(rateGenAi, events)).toEqual(expected);
  });
});

// -------------------------------------------------------------------------------------------------
// G6 arrival order does not matter
// -------------------------------------------------------------------------------------------------
describe("G6 the charges do not depend on arrival order", () => {
  const history = [
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
  ];

  it("the history in adversarial orders through ratePeriod gives the same lines", () => {
    expect(rateInEveryOrder(history, "2025-07", T30)).toEqual([
      "usage conversations.active_agents x2",
      "usage conversations.active_conversations x2",
      "usage moments.engaged_people x1",
      "usage answers.active_sessions x1",
      "usage genai.interaction[feature=summary] x2",
    ]);
  });
});

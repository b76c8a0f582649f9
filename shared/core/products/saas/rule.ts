/**
 * SaaS metrics (rating-rules §2, §2.1) and GEN AI usage. The rules give the period quantities only:
 * package fees, included units, overage and the first-month named-user proration are priced in
 * pricing.ts. Per-period quantities are priced at the period's first instant (G8).
 */

import { compositeKey } from "../../keys.js";
import { dec } from "../../money.js";
import type { Charge, LedgerEvent, LedgerEventOf, ProductRule } from "../../rating/types.js";
import { dims, eventsOfType, inPeriod, refOf } from "../../rating/types.js";
import { MINUTE } from "../../time.js";

/**
 * G2: Signals-blocked traffic counts in nothing. The contract's `blocked` flag may come on any
 * outbound message (unknown `data` keys are kept), so it is honoured here too.
 */
const isBlocked = (data: { readonly [k: string]: unknown }): boolean => data.blocked === true;

/** One per-period charge, or none when the quantity is 0 (nothing free gives a charge). */
function periodCharge(product: Charge["product"], quantity: number, pricedAt: number, ref: string): Charge[] {
  return quantity > 0 ? [{ product, dimensions: {}, quantity: dec(quantity), pricedAt, ref }] : [];
}

/**
 * Peak number of users provisioned at the same time during [start, end) (§2). A user is provisioned
 * on [added, removed) (half-open, as resources in G11), so the state at an instant is the one after
 * every change at that instant: a swap at one instant, or a user added and removed at the same
 * instant, is not a moment with both provisioned **(policy)**. Same-instant changes are applied in
 * canonical order (G12). A user "added" twice without removal is one user; removing and re-adding
 * one costs nothing extra (§2).
 */
function peakNamedUsers(
  users: readonly LedgerEventOf<"conversations.user">[],
  start: number,
  end: number,
): number {
  const provisioned = new Set<string>();
  const apply = (e: LedgerEventOf<"conversations.user">) => {
    if (e.data.action === "added") provisioned.add(e.data.userId);
    else provisioned.delete(e.data.userId);
  };
  let i = 0;
  // Users provisioned before the period count from its first instant (§2).
  while (i < users.length && users[i]!.t < start) apply(users[i++]!);
  let peak = 0;
  if (i >= users.length || users[i]!.t > start) peak = provisioned.size;
  while (i < users.length && users[i]!.t < end) {
    const t = users[i]!.t;
    while (i < users.length && users[i]!.t === t) apply(users[i++]!);
    peak = Math.max(peak, provisioned.size);
  }
  return peak;
}

/**
 * §2 Conversations. `conversations.active_agents`: peak concurrent named users (see
 * peakNamedUsers). `conversations.active_conversations`: distinct conversation ids with at least one
 * message, either direction, in the period. Signals-blocked messages count in nothing (G2); a
 * conversation that would have been active only through blocked messages is reported as blocked
 * (one informational unit each) **(policy)**.
 */
export const rateConversations: ProductRule = ({ period, events }) => {
  const users = eventsOfType(events, "conversations.user");
  const charges = periodCharge(
    "conversations.active_agents",
    peakNamedUsers(users, period.start, period.end),
    period.start,
    `peak named users ${period.id}`,
  );

  const active = new Set<string>();
  const blockedOnly = new Set<string>();
  for (const e of eventsOfType(events, "conversations.message")) {
    if (!inPeriod(e.t, period)) continue;
    if (isBlocked(e.data)) blockedOnly.add(e.data.conversationId);
    else active.add(e.data.conversationId);
  }
  for (const id of active) blockedOnly.delete(id);
  charges.push(
    ...periodCharge(
      "conversations.active_conversations",
      active.size,
      period.start,
      `distinct conversations ${period.id}`,
    ),
  );
  const blocked = periodCharge(
    "conversations.active_conversations",
    blockedOnly.size,
    period.start,
    `conversations with only Signals-blocked messages ${period.id}`,
  );
  return { charges, blocked };
};

/** §2 Moments: distinct end users who entered at least one flow in the period, once however many flows. */
export const rateMoments: ProductRule = ({ period, events }) => {
  const people = new Set<string>();
  for (const e of eventsOfType(events, "moments.flow_entered"))
    if (inPeriod(e.t, period)) people.add(e.data.endUserId);
  return {
    charges: periodCharge(
      "moments.engaged_people",
      people.size,
      period.start,
      `distinct engaged people ${period.id}`,
    ),
  };
};

/**
 * §2.1 Answers sessions, kept per (bot, end user) over the whole history (a session opened in an
 * earlier period keeps covering messages in this one, G12):
 * - an inbound message opens a session when none is open; outbound messages never open one;
 * - a session closes at `answers.session_ended`, or `answersSessionTimeoutMinutes` after the last
 *   message from either side (half-open, G12: a message at exactly the timeout finds it closed);
 * - it counts once, in the period of the inbound message that opened it (§2 policy).
 * At one instant an inbound message is taken before `session_ended` (canonical order, G12), so it
 * is still inside the session that the event closes. A Signals-blocked message is no activity (G2)
 * and, outbound messages opening nothing, would not have been charged: no informational line.
 */
export const rateAnswers: ProductRule = ({ account, period, events, carried }) => {
  const { opened } = replayAnswers(account, period, events, carried?.answersSessions);
  return {
    charges: periodCharge("answers.active_sessions", opened, period.start, `sessions opened ${period.id}`),
  };
};

/**
 * The §2.1 session replay of rateAnswers: sessions opened in `period`, and the sessions still
 * open after the last event (key → last message instant), starting from `initial` (those open at
 * the start of the events given, carried by a snapshot, carry.ts).
 */
export function replayAnswers(
  account: { readonly settings: { readonly answersSessionTimeoutMinutes: number } },
  period: { readonly start: number; readonly end: number },
  events: readonly LedgerEvent[],
  initial: readonly (readonly [string, number])[] = [],
): { opened: number; open: Map<string, number> } {
  const timeout = account.settings.answersSessionTimeoutMinutes * MINUTE;
  /** Last message instant of each open session; a key is absent when no session is open. */
  const lastMessage = new Map<string, number>(initial);
  let opened = 0;
  for (const e of eventsOfType(events, "answers.message", "answers.session_ended")) {
    const key = compositeKey(e.data.botId, e.data.endUserId);
    const last = lastMessage.get(key);
    if (last !== undefined && e.t >= last + timeout) lastMessage.delete(key);
    if (e.type === "answers.session_ended") {
      lastMessage.delete(key);
      continue;
    }
    if (isBlocked(e.data)) continue;
    if (lastMessage.has(key)) lastMessage.set(key, e.t);
    else if (e.data.direction === "inbound") {
      lastMessage.set(key, e.t);
      if (e.t >= period.start && e.t < period.end) opened += 1;
    }
  }
  return { opened, open: lastMessage };
}

/**
 * §2 GEN AI: per request, quantity = `units` (default 1), priced by `feature` and optional `model`
 * (G14) with the tariff version in force at the request's time (G8).
 */
export const rateGenAi: ProductRule = ({ period, events }) => ({
  charges: eventsOfType(events, "genai.interaction")
    .filter((e) => inPeriod(e.t, period))
    .map(
      (e): Charge => ({
        product: "genai.interaction",
        dimensions: dims({ feature: e.data.feature, model: e.data.model }),
        quantity: dec(String(e.data.units ?? 1)),
        pricedAt: e.t,
        ref: refOf(e),
      }),
    ),
});

/**
 * SaaS metrics sold as packages (rating-rules §2, §2.1) and GEN AI usage. Package fees, overage and
 * the first-month named-user proration are priced in pricing.ts; these rules give the quantities.
 */
import { dec } from "../../money.js";
import { type Charge, dims, eventsOfType, inPeriod, type ProductRule, refOf } from "../types.js";

/**
 * §2 Conversations: `conversations.active_agents` = peak number of named users provisioned at the
 * same time in the period (users provisioned before it count from its first instant); removing and
 * re-adding costs nothing extra. `conversations.active_conversations` = distinct conversation ids
 * with at least one message in the period.
 */
export const rateConversations: ProductRule = ({ period, events }) => {
  const charges: Charge[] = [];
  const users = eventsOfType(events, "conversations.user");
  const provisioned = new Set<string>();
  let peak = 0;
  // (policy) Changes at the same instant are applied removals first, so a swap of two users at one
  // instant is not a moment with both provisioned.
  const byInstant = new Map<number, typeof users>();
  for (const e of users) byInstant.set(e.t, [...(byInstant.get(e.t) ?? []), e]);
  for (const [t, group] of [...byInstant].sort((a, b) => a[0] - b[0])) {
    // The state just before a change strictly inside the period was provisioned at some moment of it;
    // a change at exactly the first instant replaces it (half-open, like G11).
    if (t > period.start && provisioned.size > peak) peak = provisioned.size;
    for (const e of group) if (e.data.action === "removed") provisioned.delete(e.data.userId);
    for (const e of group) if (e.data.action === "added") provisioned.add(e.data.userId);
    if (t >= period.start) peak = Math.max(peak, provisioned.size);
  }
  peak = Math.max(peak, provisioned.size);
  if (peak > 0)
    charges.push({
      product: "conversations.active_agents",
      dimensions: {},
      quantity: dec(peak),
      pricedAt: period.start,
      ref: `peak named users ${period.id}`,
    });

  const conversations = new Set<string>();
  for (const e of eventsOfType(events, "conversations.message"))
    if (inPeriod(e.t, period)) conversations.add(e.data.conversationId);
  if (conversations.size > 0)
    charges.push({
      product: "conversations.active_conversations",
      dimensions: {},
      quantity: dec(conversations.size),
      pricedAt: period.start,
      ref: `distinct conversations ${period.id}`,
    });
  return { charges };
};

/** §2 Moments: distinct end users who entered at least one flow in the period. */
export const rateMoments: ProductRule = ({ period, events }) => {
  const people = new Set<string>();
  for (const e of eventsOfType(events, "moments.flow_entered"))
    if (inPeriod(e.t, period)) people.add(e.data.endUserId);
  return {
    charges:
      people.size > 0
        ? [
            {
              product: "moments.engaged_people",
              dimensions: {},
              quantity: dec(people.size),
              pricedAt: period.start,
              ref: `distinct engaged people ${period.id}`,
            },
          ]
        : [],
  };
};

/**
 * §2.1 Answers sessions, per (bot, end user): an inbound message opens one when none is open; it
 * closes at `answers.session_ended` or after `answersSessionTimeoutMinutes` without a message from
 * either side (half-open, G12: a message at exactly the timeout finds it closed). Outbound messages
 * never open a session. A session counts in the period of the inbound message that opened it.
 */
export const rateAnswers: ProductRule = ({ account, period, events }) => {
  const timeout = account.settings.answersSessionTimeoutMinutes * 60_000;
  const lastActivity = new Map<string, number>(); // open sessions only
  let opened = 0;
  for (const e of eventsOfType(events, "answers.message", "answers.session_ended")) {
    const key = JSON.stringify([e.data.botId, e.data.endUserId]);
    const last = lastActivity.get(key);
    if (last !== undefined && e.t >= last + timeout) lastActivity.delete(key);
    const open = lastActivity.has(key);
    if (e.type === "answers.session_ended") {
      lastActivity.delete(key);
      continue;
    }
    if (e.data.direction === "inbound" && !open) {
      if (inPeriod(e.t, period)) opened += 1;
      lastActivity.set(key, e.t);
    } else if (open) {
      lastActivity.set(key, e.t);
    }
  }
  return {
    charges:
      opened > 0
        ? [
            {
              product: "answers.active_sessions",
              dimensions: {},
              quantity: dec(opened),
              pricedAt: period.start,
              ref: `sessions opened ${period.id}`,
            },
          ]
        : [],
  };
};

/** §2 GEN AI: per request, quantity Σ `units` (default 1), priced by feature and model at its time (G8). */
export const rateGenAi: ProductRule = ({ period, events }) => ({
  charges: eventsOfType(events, "genai.interaction")
    .filter((e) => inPeriod(e.t, period))
    .map((e) => ({
      product: "genai.interaction" as const,
      dimensions: dims({ feature: e.data.feature, model: e.data.model }),
      quantity: dec(e.data.units ?? 1),
      pricedAt: e.t,
      ref: refOf(e),
    })),
});

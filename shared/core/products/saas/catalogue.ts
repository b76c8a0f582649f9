/** The SaaS products (rating-rules §2): packaged period metrics and GEN AI units. */
import { packaged, usage } from "../rows.js";
import type { ProductRows } from "../types.js";

export const saasProducts = {
  "conversations.active_agents": {
    ...packaged(usage("named user")),
    explanation: {
      section: "§2 Conversations (Full solution)",
      chargeableEvent: "named users provisioned (conversations.user added/removed)",
      quantity: "peak number of named users provisioned at the same time during the period",
    },
    sources: ["conversations.user"],
  },
  "conversations.active_conversations": {
    ...packaged(usage("conversation")),
    explanation: {
      section: "§2 Conversations API",
      chargeableEvent: "a conversationId with at least one message in the period",
      quantity: "count of distinct conversationId",
    },
    sources: ["conversations.message"],
  },
  "moments.engaged_people": {
    ...packaged(usage("person")),
    explanation: {
      section: "§2 Moments",
      chargeableEvent: "an end user entering at least one Flow in the period",
      quantity: "count of distinct end users",
    },
    sources: ["moments.flow_entered"],
  },
  "answers.active_sessions": {
    ...packaged(usage("session")),
    explanation: {
      section: "§2, §2.1 Answers",
      chargeableEvent:
        "a chatbot session opened by an inbound message when the (bot, end user) pair has none open",
      quantity: "sessions opened in the period (closed by session_ended or the session timeout)",
    },
    sources: ["answers.message"],
  },
  "genai.interaction": {
    ...usage("unit", ["feature", "model"]),
    explanation: {
      section: "§2 GEN AI",
      chargeableEvent: "each request processed with a GEN AI feature",
      quantity: "Σ units (default 1) per feature and model",
    },
  },
} as const satisfies ProductRows;

type SaasProducts = typeof saasProducts;
declare module "../registered.js" {
  interface BuiltInProductRows extends SaasProducts {}
}

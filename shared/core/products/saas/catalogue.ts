/** The SaaS products (rating-rules §2): packaged period metrics and GEN AI units. */
import { packaged, usage } from "../rows.js";
import type { ProductRows } from "../types.js";

export const saasProducts = {
  "conversations.active_agents": packaged(usage("named user")),
  "conversations.active_conversations": packaged(usage("conversation")),
  "moments.engaged_people": packaged(usage("person")),
  "answers.active_sessions": packaged(usage("session")),
  "genai.interaction": usage("unit", ["feature", "model"]),
} as const satisfies ProductRows;

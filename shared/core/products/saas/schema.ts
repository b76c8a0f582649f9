/** The `data` of the SaaS event types (contract.md §1): Conversations, Moments, Answers, GEN AI. */
import { z } from "zod";
import { dimensionValue } from "../../../contract/common.js";
import { blocked, data, nonEmpty } from "../../../contract/event-data.js";

export const saasEvents = {
  "conversations.user": data({ userId: nonEmpty, action: z.enum(["added", "removed"]) }),
  "conversations.message": data({
    conversationId: nonEmpty,
    direction: z.enum(["inbound", "outbound"]),
    blocked,
  }),
  "moments.flow_entered": data({ endUserId: nonEmpty, flowId: nonEmpty }),
  "answers.message": data({
    botId: nonEmpty,
    endUserId: nonEmpty,
    direction: z.enum(["inbound", "outbound"]),
    blocked,
  }),
  "answers.session_ended": data({
    botId: nonEmpty,
    endUserId: nonEmpty,
    reason: z.enum(["completed", "transferred"]),
  }),
  "genai.interaction": data({
    feature: dimensionValue,
    model: dimensionValue.optional(),
    units: z.number().positive().optional(),
  }),
} as const;

type SaasEvents = typeof saasEvents;
declare module "../registered.js" {
  interface BuiltInEventSchemas extends SaasEvents {}
}

/** The SaaS products (rating-rules §2): Conversations, Moments, Answers and GEN AI. */
import { carriedTogether, productFamily } from "../family.js";
import { carryAnswersSessions, carryNamedUsers } from "./carry.js";
import { saasProducts } from "./catalogue.js";
import { rateAnswers, rateConversations, rateGenAi, rateMoments } from "./rule.js";
import { saasEvents } from "./schema.js";

export const saas = productFamily("saas", saasEvents, saasProducts, [
  {
    name: "conversations",
    rate: rateConversations,
    together: ["conversations.user", "conversations.message"],
    carries: { types: ["conversations.user"], carriers: [carryNamedUsers] },
  },
  { name: "moments", rate: rateMoments, together: ["moments.flow_entered"] },
  {
    name: "answers",
    rate: rateAnswers,
    ...carriedTogether(["answers.message", "answers.session_ended"], [carryAnswersSessions]),
  },
  { name: "genai", rate: rateGenAi, perEvent: ["genai.interaction"] },
]);

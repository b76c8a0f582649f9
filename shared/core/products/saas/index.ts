/** The SaaS products (rating-rules §2): Conversations, Moments, Answers and GEN AI. */
import type { ProductFamily } from "../types.js";
import { carryAnswersSessions, carryNamedUsers } from "./carry.js";
import { saasProducts } from "./catalogue.js";
import { rateAnswers, rateConversations, rateGenAi, rateMoments } from "./rule.js";
import { saasEvents } from "./schema.js";

export const saas: ProductFamily<typeof saasEvents, typeof saasProducts> = {
  name: "saas",
  events: saasEvents,
  products: saasProducts,
  rules: [
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
      together: ["answers.message", "answers.session_ended"],
      carries: { types: ["answers.message", "answers.session_ended"], carriers: [carryAnswersSessions] },
    },
    { name: "genai", rate: rateGenAi, perEvent: ["genai.interaction"] },
  ],
};

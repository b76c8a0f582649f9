/** Every product rule, in a fixed order. Each covers the rating-rules rows named in its file. */
import type { ProductRule } from "../types.js";
import { rateActiveUsers, rateMessages, rateSessions } from "./messaging.js";
import { rateRecording } from "./recording.js";
import { rateResources } from "./resources.js";
import { rateAnswers, rateConversations, rateGenAi, rateMoments } from "./saas.js";
import { rateViber, rateViberBot } from "./viber.js";
import { rateVoice } from "./voice.js";
import { rateWhatsApp } from "./whatsapp.js";

export const productRules: readonly ProductRule[] = [
  rateMessages,
  rateSessions,
  rateActiveUsers,
  rateViber,
  rateViberBot,
  rateWhatsApp,
  rateVoice,
  rateRecording,
  rateConversations,
  rateMoments,
  rateAnswers,
  rateGenAi,
  rateResources,
];

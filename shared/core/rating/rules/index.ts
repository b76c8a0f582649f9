/** Every product rule, in a fixed order. Each covers the rating-rules rows named in its file. */
import type { ProductRule } from "../types.js";
import { rateActiveUsers, rateMessages, rateSessions } from "./messaging.js";

export const productRules: readonly ProductRule[] = [rateMessages, rateSessions, rateActiveUsers];

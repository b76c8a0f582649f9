/**
 * Messaging (rating-rules §3): per-message products, per-session products (USSD, Kakao Sangdam)
 * and the OTT channels charged per distinct active user.
 */
import { carriedTogether, productFamily } from "../family.js";
import { carrySessionIds } from "./carry.js";
import { messagingProducts } from "./catalogue.js";
import { rateActiveUsers, rateMessages, rateSessions } from "./rule.js";
import { messagingEvents } from "./schema.js";

export const messaging = productFamily("messaging", messagingEvents, messagingProducts, [
  {
    name: "messages",
    rate: rateMessages,
    perEvent: [
      "sms.mt",
      "mms.mt",
      "rcs.mt",
      "sms.mo",
      "mms.mo",
      "rcs.mo",
      "number_lookup.request",
      "email.message",
      "email.validation",
      "push.notification",
      "line.message",
      "zalo.message",
      "kakao.message",
    ],
  },
  {
    name: "sessions",
    rate: rateSessions,
    ...carriedTogether(["ussd.session", "kakao.sangdam_session"], [carrySessionIds]),
  },
  {
    name: "active users",
    rate: rateActiveUsers,
    together: ["messenger.message", "telegram.message", "google_bm.message", "apple_bc.message"],
  },
]);

/** The messaging products (rating-rules §3) and their pricing dimensions (§1.1). */
import { explainActiveUsers, explainMo, explainMt, explainPerEvent, usage } from "../rows.js";
import type { ProductRows } from "../types.js";

const msg = ["country", "network"] as const;

export const messagingProducts = {
  "sms.mt": { ...usage("message", msg), explanation: explainMt("SMS") },
  "sms.mo": { ...usage("message", msg), explanation: explainMo("SMS") },
  "mms.mt": { ...usage("message", msg), explanation: explainMt("MMS") },
  "mms.mo": { ...usage("message", msg), explanation: explainMo("MMS") },
  "rcs.mt": {
    ...usage("message", msg),
    explanation: explainPerEvent(
      "§3 RCS",
      "RCS MT successfully delivered (status submitted and delivered: true)",
    ),
  },
  "rcs.mo": { ...usage("message", msg), explanation: explainMo("RCS") },
  "number_lookup.request": {
    ...usage("request", ["country"]),
    explanation: explainPerEvent("§3 Number Lookup", "each lookup request sent to an operator", "request"),
  },
  "email.message": {
    ...usage("message"),
    explanation: explainPerEvent(
      "§3 E-mail",
      "each e-mail successfully submitted, and each message to a block-listed address (suppressed)",
    ),
  },
  "email.validation": {
    ...usage("request"),
    explanation: explainPerEvent(
      "§3 E-mail validation",
      "each validation request successfully submitted",
      "request",
    ),
  },
  "ussd.session": {
    ...usage("session", ["country"]),
    explanation: {
      section: "§3 USSD",
      chargeableEvent: "each USSD session initiated by the account or a third party",
      quantity:
        "1 per distinct sessionId, in the period of its first event (an id unseen for 7 days starts anew)",
    },
  },
  "push.notification": {
    ...usage("notification", ["platform"]),
    explanation: explainPerEvent(
      "§3 Mobile App Messaging (policy)",
      "each push notification successfully submitted",
      "notification",
    ),
  },
  "messenger.active_user": {
    ...usage("active user"),
    explanation: explainActiveUsers("Messenger"),
    sources: ["messenger.message"],
  },
  "telegram.active_user": {
    ...usage("active user"),
    explanation: explainActiveUsers("Telegram"),
    sources: ["telegram.message"],
  },
  "google_bm.active_user": {
    ...usage("active user"),
    explanation: explainActiveUsers("Google Business Messages"),
    sources: ["google_bm.message"],
  },
  "apple_bc.active_user": {
    ...usage("active user"),
    explanation: explainActiveUsers("Apple Business Chat"),
    sources: ["apple_bc.message"],
  },
  "line.message": { ...usage("message"), explanation: explainPerEvent("§3 LINE", "each delivered message") },
  "zalo.message": { ...usage("message"), explanation: explainPerEvent("§3 ZALO", "each delivered message") },
  "kakao.alimtalk": {
    ...usage("message"),
    explanation: explainPerEvent("§3 Kakao", "each delivered AlimTalk message"),
  },
  "kakao.chingutalk": {
    ...usage("message"),
    explanation: explainPerEvent("§3 Kakao", "each delivered ChinguTalk message"),
  },
  "kakao.sangdam_session": {
    ...usage("session"),
    explanation: {
      section: "§3 Kakao",
      chargeableEvent: "each consultation session initiated by the end user",
      quantity: "1 per distinct sessionId, in the period of its first event",
    },
  },
} as const satisfies ProductRows;

type MessagingProducts = typeof messagingProducts;
declare module "../registered.js" {
  interface BuiltInProductRows extends MessagingProducts {}
}

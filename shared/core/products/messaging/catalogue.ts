/** The messaging products (rating-rules §3) and their pricing dimensions (§1.1). */
import { perEvent, usage } from "../rows.js";
import type { ProductDefinition, ProductRows } from "../types.js";

const msg = ["country", "network"] as const;
const mt = (name: string) =>
  perEvent(
    usage("message", msg),
    "§3 SMS/MMS",
    `${name} MT accepted and validated for forwarding (status submitted)`,
  );
const mo = (name: string) =>
  perEvent(usage("message", msg), "§3", `${name} MO accepted by the platform (status accepted)`);
/** An OTT channel charged per distinct end user its messages (`source`) reached in the period. */
const activeUsers = (channel: string, source: string): ProductDefinition => ({
  ...usage("active user"),
  explanation: {
    section: `§3 ${channel}`,
    chargeableEvent: `distinct end users with at least one delivered ${channel} message in the period`,
    quantity: "count of distinct endUserId (blocked-only users are informational, G2)",
  },
  sources: [source],
});

export const messagingProducts = {
  "sms.mt": mt("SMS"),
  "sms.mo": mo("SMS"),
  "mms.mt": mt("MMS"),
  "mms.mo": mo("MMS"),
  "rcs.mt": perEvent(
    usage("message", msg),
    "§3 RCS",
    "RCS MT successfully delivered (status submitted and delivered: true)",
  ),
  "rcs.mo": mo("RCS"),
  "number_lookup.request": perEvent(
    usage("request", ["country"]),
    "§3 Number Lookup",
    "each lookup request sent to an operator",
  ),
  "email.message": perEvent(
    usage("message"),
    "§3 E-mail",
    "each e-mail successfully submitted, and each message to a block-listed address (suppressed)",
  ),
  "email.validation": perEvent(
    usage("request"),
    "§3 E-mail validation",
    "each validation request successfully submitted",
  ),
  "ussd.session": {
    ...usage("session", ["country"]),
    explanation: {
      section: "§3 USSD",
      chargeableEvent: "each USSD session initiated by the account or a third party",
      quantity:
        "1 per distinct sessionId, in the period of its first event (an id unseen for 7 days starts anew)",
    },
  },
  "push.notification": perEvent(
    usage("notification", ["platform"]),
    "§3 Mobile App Messaging (policy)",
    "each push notification successfully submitted",
  ),
  "messenger.active_user": activeUsers("Messenger", "messenger.message"),
  "telegram.active_user": activeUsers("Telegram", "telegram.message"),
  "google_bm.active_user": activeUsers("Google Business Messages", "google_bm.message"),
  "apple_bc.active_user": activeUsers("Apple Business Chat", "apple_bc.message"),
  "line.message": perEvent(usage("message"), "§3 LINE", "each delivered message"),
  "zalo.message": perEvent(usage("message"), "§3 ZALO", "each delivered message"),
  "kakao.alimtalk": perEvent(usage("message"), "§3 Kakao", "each delivered AlimTalk message"),
  "kakao.chingutalk": perEvent(usage("message"), "§3 Kakao", "each delivered ChinguTalk message"),
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

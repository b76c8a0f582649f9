/** The messaging products (rating-rules §3) and their pricing dimensions (§1.1). */
import { usage } from "../rows.js";
import type { ProductRows } from "../types.js";

const msg = ["country", "network"] as const;

export const messagingProducts = {
  "sms.mt": usage("message", msg),
  "sms.mo": usage("message", msg),
  "mms.mt": usage("message", msg),
  "mms.mo": usage("message", msg),
  "rcs.mt": usage("message", msg),
  "rcs.mo": usage("message", msg),
  "number_lookup.request": usage("request", ["country"]),
  "email.message": usage("message"),
  "email.validation": usage("request"),
  "ussd.session": usage("session", ["country"]),
  "push.notification": usage("notification", ["platform"]),
  "messenger.active_user": usage("active user"),
  "telegram.active_user": usage("active user"),
  "google_bm.active_user": usage("active user"),
  "apple_bc.active_user": usage("active user"),
  "line.message": usage("message"),
  "zalo.message": usage("message"),
  "kakao.alimtalk": usage("message"),
  "kakao.chingutalk": usage("message"),
  "kakao.sangdam_session": usage("session"),
} as const satisfies ProductRows;

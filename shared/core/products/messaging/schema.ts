/** The `data` of the messaging event types (contract.md §1): SMS, MMS, RCS, lookups, e-mail, push, USSD, OTT. */
import { z } from "zod";
import { dimensionValue } from "../../../contract/common.js";
import { blocked, country, data, deliveredToEndUser, nonEmpty } from "../../../contract/event-data.js";

const outboundMessage = data({
  to: nonEmpty,
  country,
  network: dimensionValue.optional(),
  status: z.enum(["submitted", "rejected"]),
  blocked,
});
const inboundMessage = data({
  from: nonEmpty,
  country,
  network: dimensionValue.optional(),
  status: z.enum(["accepted", "rejected"]),
});

export const messagingEvents = {
  "sms.mt": outboundMessage,
  "mms.mt": outboundMessage,
  "rcs.mt": outboundMessage.extend({ delivered: z.boolean() }),
  "sms.mo": inboundMessage,
  "mms.mo": inboundMessage,
  "rcs.mo": inboundMessage,
  "number_lookup.request": data({ msisdn: nonEmpty, country, status: z.enum(["sent", "rejected"]) }),
  "email.message": data({ to: nonEmpty, status: z.enum(["submitted", "rejected", "suppressed"]), blocked }),
  "email.validation": data({
    address: nonEmpty,
    status: z.enum(["submitted", "rejected"]),
    result: z.enum(["yes", "no", "unknown"]).optional(),
  }),
  "ussd.session": data({ sessionId: nonEmpty, country, initiatedBy: z.enum(["account", "third_party"]) }),
  "push.notification": data({ platform: dimensionValue, status: z.enum(["submitted", "rejected"]) }),
  "messenger.message": deliveredToEndUser,
  "telegram.message": deliveredToEndUser,
  "google_bm.message": deliveredToEndUser,
  "apple_bc.message": deliveredToEndUser,
  "line.message": deliveredToEndUser,
  "zalo.message": deliveredToEndUser,
  "kakao.message": deliveredToEndUser.extend({ product: z.enum(["alimtalk", "chingutalk"]) }),
  "kakao.sangdam_session": data({ endUserId: nonEmpty, sessionId: nonEmpty }),
} as const;

type MessagingEvents = typeof messagingEvents;
declare module "../registered.js" {
  interface BuiltInEventSchemas extends MessagingEvents {}
}

/** The `data` of the Viber and Viber Bot event types (contract.md §1). */
import { z } from "zod";
import { data, deliveredToEndUser, nonEmpty } from "../../../contract/event-data.js";

export const viberEvents = {
  "viber.inbound": data({ endUserId: nonEmpty, serviceId: nonEmpty }),
  "viber.message": deliveredToEndUser.extend({
    serviceId: nonEmpty,
    messageType: z.enum(["transactional", "promotional", "session"]),
  }),
  "viber_bot.inbound": data({ endUserId: nonEmpty, botId: nonEmpty }),
  "viber_bot.message": deliveredToEndUser.extend({ botId: nonEmpty }),
} as const;

type ViberEvents = typeof viberEvents;
declare module "../registered.js" {
  interface BuiltInEventSchemas extends ViberEvents {}
}

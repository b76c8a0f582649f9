/** The Viber products (rating-rules §3.1, §3.2). */
import { perEvent, usage } from "../rows.js";
import type { ProductRows } from "../types.js";

export const viberProducts = {
  "viber.message": perEvent(
    usage("message", ["messageType"]),
    "§3.1 Viber",
    "each delivered message by messageType, except session-type messages covered by a session",
  ),
  "viber.session": {
    ...usage("session"),
    explanation: {
      section: "§3.1 Viber",
      chargeableEvent:
        "an end-user inbound opens a fixed 24 h session per (serviceId, end user); charged once if a session-type message was delivered in it",
      quantity: "1 per session opened by an inbound of the period (the opener is the sample)",
    },
  },
  "viber_bot.message": perEvent(
    usage("message"),
    "§3.2 Viber Bot",
    "each delivered bot message outside the customer support window (24 h from the user's latest inbound)",
  ),
} as const satisfies ProductRows;

type ViberProducts = typeof viberProducts;
declare module "../registered.js" {
  interface BuiltInProductRows extends ViberProducts {}
}

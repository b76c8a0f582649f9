/** Viber Business Messages (rating-rules §3.1 sessions, commitments) and Viber Bot (§3.2 CSW). */
import type { ProductFamily } from "../types.js";
import { carryViberBotWindows, carryViberSessions } from "./carry.js";
import { viberProducts } from "./catalogue.js";
import { rateViber, rateViberBot, VIBER_SESSION_LENGTH } from "./rule.js";
import { viberEvents } from "./schema.js";

export const viber: ProductFamily<typeof viberEvents, typeof viberProducts> = {
  name: "viber",
  events: viberEvents,
  products: viberProducts,
  rules: [
    {
      name: "viber",
      rate: rateViber,
      together: ["viber.inbound", "viber.message"],
      carries: { types: ["viber.inbound", "viber.message"], carriers: [carryViberSessions] },
      reachesBack: {
        within: VIBER_SESSION_LENGTH,
        applies: (e) => e.type === "viber.message" && e.data.messageType === "session",
      },
    },
    {
      name: "viber bot",
      rate: rateViberBot,
      together: ["viber_bot.inbound", "viber_bot.message"],
      carries: { types: ["viber_bot.inbound"], carriers: [carryViberBotWindows] },
    },
  ],
};

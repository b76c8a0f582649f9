/** Viber Business Messages (rating-rules §3.1 sessions, commitments) and Viber Bot (§3.2 CSW). */
import { carriedTogether, productFamily } from "../family.js";
import { carryViberBotWindows, carryViberSessions } from "./carry.js";
import { viberProducts } from "./catalogue.js";
import { rateViber, rateViberBot, VIBER_SESSION_LENGTH } from "./rule.js";
import { viberEvents } from "./schema.js";

export const viber = productFamily("viber", viberEvents, viberProducts, [
  {
    name: "viber",
    rate: rateViber,
    ...carriedTogether(["viber.inbound", "viber.message"], [carryViberSessions]),
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
]);

/** WhatsApp (rating-rules §3.3): per conversation before 2025-07-01, per message from then. */
import { carriedTogether, productFamily } from "../family.js";
import { carryWhatsApp } from "./carry.js";
import { whatsappProducts } from "./catalogue.js";
import { rateWhatsApp } from "./rule.js";
import { whatsappEvents } from "./schema.js";

export const whatsapp = productFamily("whatsapp", whatsappEvents, whatsappProducts, [
  {
    name: "whatsapp",
    rate: rateWhatsApp,
    ...carriedTogether(["whatsapp.inbound", "whatsapp.message"], [carryWhatsApp]),
  },
]);

/** WhatsApp (rating-rules §3.3): per conversation before 2025-07-01, per message from then. */
import type { ProductFamily } from "../types.js";
import { carryWhatsApp } from "./carry.js";
import { whatsappProducts } from "./catalogue.js";
import { rateWhatsApp } from "./rule.js";
import { whatsappEvents } from "./schema.js";

export const whatsapp: ProductFamily<typeof whatsappEvents, typeof whatsappProducts> = {
  name: "whatsapp",
  events: whatsappEvents,
  products: whatsappProducts,
  rules: [
    {
      name: "whatsapp",
      rate: rateWhatsApp,
      together: ["whatsapp.inbound", "whatsapp.message"],
      carries: { types: ["whatsapp.inbound", "whatsapp.message"], carriers: [carryWhatsApp] },
    },
  ],
};

/** The WhatsApp products (rating-rules §3.3); the sender fee is a resource (resources/catalogue.ts). */
import { usage } from "../rows.js";
import type { ProductRows } from "../types.js";

export const whatsappProducts = {
  "whatsapp.conversation": usage("conversation", ["category"]),
  "whatsapp.template": usage("message", ["category"]),
  "whatsapp.freeform": usage("message"),
} as const satisfies ProductRows;

/** The WhatsApp products (rating-rules §3.3); the sender fee is a resource (resources/catalogue.ts). */
import { perEvent, usage } from "../rows.js";
import type { ProductRows } from "../types.js";

export const whatsappProducts = {
  "whatsapp.conversation": {
    ...usage("conversation", ["category"]),
    explanation: {
      section: "§3.3 WhatsApp (before 2025-07-01)",
      chargeableEvent:
        "a delivered template of category C opens a C conversation for 24 h unless one is open; a free-form answer inside the CSW with no open conversation opens a service conversation",
      quantity: "1 per conversation window opened in the period (the opening message is the sample)",
    },
  },
  "whatsapp.template": perEvent(
    usage("message", ["category"]),
    "§3.3 WhatsApp (from 2025-07-01)",
    "each delivered template by category; utility templates inside the CSW are free",
  ),
  "whatsapp.freeform": perEvent(
    usage("message"),
    "§3.3 WhatsApp (from 2025-07-01)",
    "each delivered free-form message",
  ),
} as const satisfies ProductRows;

type WhatsappProducts = typeof whatsappProducts;
declare module "../registered.js" {
  interface BuiltInProductRows extends WhatsappProducts {}
}

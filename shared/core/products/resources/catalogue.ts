/** The resource fees (rating-rules §4, §3.3 WhatsApp sender, G11): one-time and per active month. */
import { oneTime, recurring } from "../rows.js";
import type { ProductRows } from "../types.js";

export const resourceProducts = {
  "whatsapp.sender": recurring("sender-month", ["hosting"]),
  "number.setup": oneTime("number", ["numberType", "country"]),
  "number.monthly": recurring("number-month", ["numberType", "country"]),
  "voice.cnam": recurring("number-month"),
  "voice.e911": recurring("number-month"),
  "sip_trunk.channel": recurring("channel-month", ["plan", "country"]),
  "ip_address.monthly": recurring("address-month"),
  "byoc.setup": oneTime("setup"),
} as const satisfies ProductRows;

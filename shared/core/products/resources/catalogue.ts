/** The resource fees (rating-rules §4, §3.3 WhatsApp sender, G11): one-time and per active month. */
import { explainResourceFee, oneTime, recurring } from "../rows.js";
import type { ProductRows } from "../types.js";

export const resourceProducts = {
  "whatsapp.sender": {
    ...recurring("sender-month", ["hosting"]),
    explanation: explainResourceFee("a registered WhatsApp sender"),
    sources: ["resource.activated"],
  },
  "number.setup": {
    ...oneTime("number", ["numberType", "country"]),
    explanation: {
      section: "§4 Numbers, G11",
      chargeableEvent: "a number provisioned (first activation of its resourceId, ever)",
      quantity: "1 per resourceId, once",
    },
  },
  "number.monthly": {
    ...recurring("number-month", ["numberType", "country"]),
    explanation: explainResourceFee("a number"),
    sources: ["resource.activated"],
  },
  "voice.cnam": {
    ...recurring("number-month"),
    explanation: explainResourceFee("a CNAM feature"),
    sources: ["resource.activated"],
  },
  "voice.e911": {
    ...recurring("number-month"),
    explanation: explainResourceFee("an E911 feature"),
    sources: ["resource.activated"],
  },
  "sip_trunk.channel": {
    ...recurring("channel-month", ["plan", "country"]),
    explanation: {
      section: "§4 Numbers, G11",
      chargeableEvent: "SIP trunk channels active in the period",
      quantity: "Σ over the account's trunks of each trunk's peak channel count in the period",
    },
    sources: ["resource.activated"],
  },
  "ip_address.monthly": {
    ...recurring("address-month"),
    explanation: explainResourceFee("an IP address"),
    sources: ["resource.activated"],
  },
  "byoc.setup": {
    ...oneTime("setup"),
    explanation: {
      section: "§4 Numbers",
      chargeableEvent: "BYOC set up (first activation of its resourceId, ever)",
      quantity: "1 per resourceId, once",
    },
  },
} as const satisfies ProductRows;

type ResourceProducts = typeof resourceProducts;
declare module "../registered.js" {
  interface BuiltInProductRows extends ResourceProducts {}
}

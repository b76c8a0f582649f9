/** The resource fees (rating-rules §4, §3.3 WhatsApp sender, G11): one-time and per active month. */
import { oneTime, type Row, recurring } from "../rows.js";
import type { ProductDefinition, ProductRows } from "../types.js";

/** A fee per period a resource (`what`) is active, read from its activations (G11: no proration). */
const activeFee = (row: Row, what: string): ProductDefinition => ({
  ...row,
  explanation: {
    section: "§4, G11",
    chargeableEvent: `${what} active at any moment of the period ([activated, deactivated))`,
    quantity: "1 per resource active in the period, no proration",
  },
  sources: ["resource.activated"],
});

export const resourceProducts = {
  "whatsapp.sender": activeFee(recurring("sender-month", ["hosting"]), "a registered WhatsApp sender"),
  "number.setup": {
    ...oneTime("number", ["numberType", "country"]),
    explanation: {
      section: "§4 Numbers, G11",
      chargeableEvent: "a number provisioned (first activation of its resourceId, ever)",
      quantity: "1 per resourceId, once",
    },
  },
  "number.monthly": activeFee(recurring("number-month", ["numberType", "country"]), "a number"),
  "voice.cnam": activeFee(recurring("number-month"), "a CNAM feature"),
  "voice.e911": activeFee(recurring("number-month"), "an E911 feature"),
  "sip_trunk.channel": {
    ...recurring("channel-month", ["plan", "country"]),
    explanation: {
      section: "§4 Numbers, G11",
      chargeableEvent: "SIP trunk channels active in the period",
      quantity: "Σ over the account's trunks of each trunk's peak channel count in the period",
    },
    sources: ["resource.activated"],
  },
  "ip_address.monthly": activeFee(recurring("address-month"), "an IP address"),
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

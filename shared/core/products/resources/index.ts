/**
 * Resources (rating-rules §4, G11): numbers, WhatsApp senders, CNAM, E911, SIP trunks, IP
 * addresses and BYOC, each charged per period it is active and set up once ever. Their timelines
 * (timelines.ts) are read by voice too.
 */
import { carriedTogether, productFamily } from "../family.js";
import { carryResources } from "./carry.js";
import { resourceProducts } from "./catalogue.js";
import { rateResources } from "./rule.js";
import { resourceEvents } from "./schema.js";

export const resources = productFamily("resources", resourceEvents, resourceProducts, [
  {
    name: "resources",
    rate: rateResources,
    ...carriedTogether(["resource.activated", "resource.deactivated"], [carryResources]),
  },
]);

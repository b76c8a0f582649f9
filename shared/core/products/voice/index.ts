/** Voice (rating-rules §5): minutes, AMD, transcription, conferences, E911 penalties, fair use. */

import { productFamily } from "../family.js";
import { carryResources } from "../resources/carry.js";
import { carryFairUse } from "./carry.js";
import { voiceProducts } from "./catalogue.js";
import { rateVoice } from "./rule.js";
import { voiceEvents } from "./schema.js";

const RESOURCES = ["resource.activated", "resource.deactivated"] as const;

export const voice = productFamily("voice", voiceEvents, voiceProducts, [
  {
    name: "voice",
    rate: rateVoice,
    perEvent: ["voice.conference"],
    // Minutes per call; SIP trunk channels and fair use, E911 and CNAM from the resources' timelines.
    together: ["voice.call", ...RESOURCES],
    carries: { types: ["voice.call", ...RESOURCES], carriers: [carryResources, carryFairUse] },
  },
]);

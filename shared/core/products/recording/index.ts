/** Call recording (rating-rules §5 recording): licences, storage days, video exports, the limit. */
import type { ProductFamily } from "../types.js";
import { carryRecordingsAcross, carryStorageDays } from "./carry.js";
import { recordingProducts } from "./catalogue.js";
import { rateRecording } from "./rule.js";
import { recordingEvents } from "./schema.js";

export const recording: ProductFamily<typeof recordingEvents, typeof recordingProducts> = {
  name: "recording",
  events: recordingEvents,
  products: recordingProducts,
  rules: [
    {
      name: "recording",
      rate: rateRecording,
      perEvent: ["recording.exported"],
      together: ["voice.call", "recording.storage"],
      carries: {
        types: ["voice.call", "recording.storage"],
        carriers: [carryRecordingsAcross, carryStorageDays],
      },
    },
  ],
};

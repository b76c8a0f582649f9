/** Call recording (rating-rules §5 recording): licences, storage days, video exports, the limit. */
import { productFamily } from "../family.js";
import { carryRecordingsAcross, carryStorageDays } from "./carry.js";
import { recordingProducts } from "./catalogue.js";
import { rateRecording } from "./rule.js";
import { recordingEvents } from "./schema.js";

export const recording = productFamily("recording", recordingEvents, recordingProducts, [
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
]);

/** The recording products (rating-rules §5 recording). */
import { perEvent, recurring, usage } from "../rows.js";
import type { ProductRows } from "../types.js";

export const recordingProducts = {
  "recording.license": {
    ...recurring("licence"),
    explanation: {
      section: "§5 Recording",
      chargeableEvent: "a call recorded in the period (accounts not on Conversations Full solution)",
      quantity: "min(recorded calls, recording limit)",
    },
    sources: ["voice.call"],
  },
  "recording.storage_gb_day": {
    ...usage("GB-day"),
    explanation: {
      section: "§5 Recording",
      chargeableEvent: "recordings stored, per day (Conversations Full solution accounts)",
      quantity: "Σ over days of GB stored that day (the day's latest storage report counts)",
    },
  },
  "recording.storage_minute_day": {
    ...usage("minute-day"),
    explanation: {
      section: "§5 Recording",
      chargeableEvent: "recorded minutes stored, per day",
      quantity: "Σ over days of recorded minutes stored that day (the day's latest storage report counts)",
    },
  },
  "recording.video_storage_gb_day": {
    ...usage("GB-day"),
    explanation: {
      section: "§5 Recording",
      chargeableEvent: "video recordings stored, per day",
      quantity: "Σ over days of video GB stored that day (the day's latest storage report counts)",
    },
  },
  "recording.video_export": perEvent(
    usage("export"),
    "§5 Recording (policy)",
    "each recording exported to the account's platform",
  ),
} as const satisfies ProductRows;

type RecordingProducts = typeof recordingProducts;
declare module "../registered.js" {
  interface BuiltInProductRows extends RecordingProducts {}
}

/** The recording products (rating-rules §5 recording). */
import { recurring, usage } from "../rows.js";
import type { ProductRows } from "../types.js";

export const recordingProducts = {
  "recording.license": recurring("licence"),
  "recording.storage_gb_day": usage("GB-day"),
  "recording.storage_minute_day": usage("minute-day"),
  "recording.video_storage_gb_day": usage("GB-day"),
  "recording.video_export": usage("export"),
} as const satisfies ProductRows;

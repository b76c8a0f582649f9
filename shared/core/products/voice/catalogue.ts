/** The voice products (rating-rules §5). */
import { usage } from "../rows.js";
import type { ProductRows } from "../types.js";

export const voiceProducts = {
  "voice.minute": usage("minute", ["service", "direction", "country"]),
  "voice.amd": usage("call"),
  "voice.transcription": usage("15 s"),
  "voice.conference_participant": usage("minute"),
  "voice.e911_penalty": usage("call"),
} as const satisfies ProductRows;

/** The voice products (rating-rules §5). */
import { usage } from "../rows.js";
import type { ProductRows } from "../types.js";

export const voiceProducts = {
  "voice.minute": {
    ...usage("minute", ["service", "direction", "country"]),
    explanation: {
      section: "§5 Voice and video",
      chargeableEvent:
        "a call answered by someone who counts for its service (call_link, byoc: duration > 0)",
      quantity: "⌈durationSeconds / 60⌉ per call (each started minute)",
    },
  },
  "voice.amd": {
    ...usage("call"),
    explanation: {
      section: "§5 Voice and video",
      chargeableEvent: "answering-machine detection requested and the call answered",
      quantity: "1 per call",
    },
  },
  "voice.transcription": {
    ...usage("15 s"),
    explanation: {
      section: "§5 Voice and video",
      chargeableEvent: "speech capture / transcription used on a call",
      quantity: "⌈transcriptionSeconds / 15⌉ per call",
    },
  },
  "voice.conference_participant": {
    ...usage("minute"),
    explanation: {
      section: "§5 Voice and video",
      chargeableEvent: "a participant in a conference room while it held 3 or more participants",
      quantity: "⌈Σ seconds in the room with ≥ 3 participants / 60⌉ per participant",
    },
  },
  "voice.e911_penalty": {
    ...usage("call"),
    explanation: {
      section: "§5 Voice and video",
      chargeableEvent:
        "an outbound emergency call from a US number with no E911 feature active at the call's time",
      quantity: "1 per call",
    },
  },
} as const satisfies ProductRows;

type VoiceProducts = typeof voiceProducts;
declare module "../registered.js" {
  interface BuiltInProductRows extends VoiceProducts {}
}

/** The `data` of calls and conferences (contract.md §1). */
import { z } from "zod";
import { country, data, nonEmpty, rfc3339, seconds } from "../../../contract/event-data.js";

export const voiceServices = [
  "calls",
  "webrtc",
  "call_link",
  "voice_message",
  "ivr",
  "click_to_call",
  "number_masking",
  "sip_trunk",
  "call_routing",
  "viber_business_call",
  "inbound_forward",
  "byoc",
] as const;

export const voiceEvents = {
  "voice.call": data({
    callId: nonEmpty,
    service: z.enum(voiceServices),
    direction: z.enum(["inbound", "outbound"]),
    country,
    answered: z.boolean(),
    answeredBy: z.enum(["end_user", "machine", "application"]).optional(),
    announcementPlayed: z.boolean().optional(),
    durationSeconds: seconds,
    amd: z.boolean().optional(),
    transcriptionSeconds: seconds.optional(),
    emergency: z.boolean().optional(),
    fromResourceId: nonEmpty.optional(),
    trunkId: nonEmpty.optional(),
    recording: z.object({ startedAt: rfc3339, endedAt: rfc3339 }).optional(),
  }),
  "voice.conference": data({
    conferenceId: nonEmpty,
    participants: z.array(z.object({ participantId: nonEmpty, joinedAt: rfc3339, leftAt: rfc3339 })),
  }),
} as const;

type VoiceEvents = typeof voiceEvents;
declare module "../registered.js" {
  interface BuiltInEventSchemas extends VoiceEvents {}
}

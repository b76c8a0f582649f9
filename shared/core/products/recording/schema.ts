/** The `data` of recording storage reports and exports (contract.md §1). */
import { z } from "zod";
import { data, isoDay, nonEmpty } from "../../../contract/event-data.js";

export const recordingEvents = {
  "recording.storage": data({
    day: isoDay,
    minutes: z.number().nonnegative().optional(),
    gigabytes: z.number().nonnegative().optional(),
    videoGigabytes: z.number().nonnegative().optional(),
  }),
  "recording.exported": data({ recordingId: nonEmpty }),
} as const;

type RecordingEvents = typeof recordingEvents;
declare module "../registered.js" {
  interface BuiltInEventSchemas extends RecordingEvents {}
}

/** The state the voice rule carries across a period start (rating/carry.ts). */
import type { Carrier } from "../../rating/carried-state.js";
import { eventsOfType } from "../../rating/types.js";
import { resourceTimelines } from "../resources/timelines.js";
import { fairUseOf } from "./rule.js";

/** §5 SIP trunk fair use of the period before (its two-period breach rule). */
export const carryFairUse: Carrier = ({ all, previousPeriod }) => ({
  previousFairUse: fairUseOf(previousPeriod, eventsOfType(all, "voice.call"), resourceTimelines(all)),
});

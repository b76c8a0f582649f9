/**
 * Voice and video calls (rating-rules §5, G13): call minutes, answering-machine detection,
 * transcription, conference participants and the E911 penalty; plus the SIP trunk compliance
 * figures of §5 (US unlimited fair use, short-duration calls), which are reported, never charged.
 *
 * G13: a call's `time` is its set-up time; the whole call (minutes, AMD, transcription, penalty)
 * belongs to that period and is priced at that instant.
 */
import { instantOf } from "../../../contract/common.js";
import { Dec, dec, ONE } from "../../money.js";
import {
  type Charge,
  type Dimensions,
  dims,
  eventsOfType,
  type FairUseFigure,
  inPeriod,
  type LedgerEvent,
  type LedgerEventOf,
  type ProductRule,
  refOf,
  type SuspenseItem,
} from "../../rating/types.js";
import { MINUTE, type PeriodWindow, periodWindow, shiftPeriod } from "../../time.js";
import type { EventData } from "../registered.js";
import { type ResourceTimeline, resourceTimelines, segmentAt } from "../resources/timelines.js";

type CallData = EventData<"voice.call">;
type Call = LedgerEventOf<"voice.call">;

/** §5 SIP trunk US unlimited plan: at most 4,000 outbound minutes per channel per period. */
export const FAIR_USE_MINUTES_PER_CHANNEL = 4000;
/** §5 short-duration calls: a completed call of 6 s or less; more than 20 % of them is a breach. */
export const SHORT_CALL_SECONDS = 6;
export const SHORT_CALL_THRESHOLD = dec("0.2");

/**
 * §5 voice.minute condition: whether the call was answered by someone who counts for its service.
 * `call_link` and `byoc` charge every call with a duration; `answered: true` without `answeredBy`
 * is an end user; `answeredBy` is ignored when `answered` is false (policy: the flag decides).
 */
export function countsAsAnswered(d: CallData): boolean {
  if (d.service === "call_link" || d.service === "byoc") return d.durationSeconds > 0;
  // Number masking charging starts when the call is connected or the announcement is released.
  if (d.service === "number_masking" && d.announcementPlayed === true) return true;
  if (!d.answered) return false;
  const by = d.answeredBy ?? "end_user";
  switch (d.service) {
    case "calls":
      return true; // end user, answering machine or the account's application
    case "viber_business_call":
      return by !== "machine"; // end user or application, never a machine
    default:
      return by !== "application"; // end user or answering machine
  }
}

/** §5: billed minutes of a call, each started 60 s (0 when it does not count). */
export function billedMinutes(d: CallData): number {
  return countsAsAnswered(d) ? Math.ceil(d.durationSeconds / 60) : 0;
}

/** §5 conference: per participant, ms spent in the room while it held ≥ 3 participants. */
export function conferenceExposure(
  participants: EventData<"voice.conference">["participants"],
): Map<string, number> {
  // A participant who appears several times (left and re-joined) is one person: merge their stays (policy).
  const stays = new Map<string, [number, number][]>();
  for (const p of participants) {
    const from = instantOf(p.joinedAt);
    const to = instantOf(p.leftAt);
    if (!(to > from)) continue;
    const list = stays.get(p.participantId) ?? [];
    list.push([from, to]);
    stays.set(p.participantId, list);
  }
  const merged = new Map<string, [number, number][]>();
  for (const id of [...stays.keys()].sort()) {
    const sorted = stays.get(id)!.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const out: [number, number][] = [];
    for (const [f, t] of sorted) {
      const last = out[out.length - 1];
      if (last && f <= last[1]) last[1] = Math.max(last[1], t);
      else out.push([f, t]);
    }
    merged.set(id, out);
  }
  const bounds = [...new Set([...merged.values()].flat(2))].sort((a, b) => a - b);
  const exposure = new Map<string, number>([...merged.keys()].map((id) => [id, 0]));
  for (let i = 0; i + 1 < bounds.length; i++) {
    const a = bounds[i]!;
    const b = bounds[i + 1]!;
    // Half-open stays [joinedAt, leftAt): who is in the room throughout [a, b).
    const present = [...merged]
      .filter(([, list]) => list.some(([f, t]) => f <= a && t >= b))
      .map(([id]) => id);
    if (present.length < 3) continue;
    for (const id of present) exposure.set(id, (exposure.get(id) ?? 0) + (b - a));
  }
  return exposure;
}

/** The number's country (policy: immutable, so taken at the call's instant, else its nearest known state). */
function numberCountry(tl: ResourceTimeline, t: number): string | undefined {
  const seg = segmentAt(tl, t) ?? [...tl.segments].reverse().find((s) => s.from <= t) ?? tl.segments[0];
  return seg?.data.country;
}

/** §5: an `e911` resource whose numberResourceId is that number is active at instant t. */
function e911ActiveAt(timelines: Map<string, ResourceTimeline>, numberId: string, t: number): boolean {
  for (const tl of timelines.values()) {
    if (tl.resourceType !== "e911") continue;
    if (segmentAt(tl, t)?.data.numberResourceId === numberId) return true;
  }
  return false;
}

export const rateVoice: ProductRule = ({ account, period, events, carried }) => {
  const charges: Charge[] = [];
  const suspense: SuspenseItem[] = [];
  const timelines = resourceTimelines(events);

  for (const e of eventsOfType(events, "voice.call")) {
    if (!inPeriod(e.t, period)) continue; // G13: set-up time decides the period
    const d = e.data;
    const ref = refOf(e);
    const charge = (product: Charge["product"], quantity: number, dimensions: Dimensions = {}) => {
      if (quantity > 0) charges.push({ product, dimensions, quantity: dec(quantity), pricedAt: e.t, ref });
    };
    charge(
      "voice.minute",
      billedMinutes(d),
      dims({ service: d.service, direction: d.direction, country: d.country }),
    );
    // §5 voice.amd: detection requested and the call answered (by anyone: that is what AMD classifies).
    if (d.amd === true && d.answered) charge("voice.amd", 1);
    // §5 voice.transcription: each started 15 s of speech capture, whatever the call's minutes (policy).
    charge("voice.transcription", Math.ceil((d.transcriptionSeconds ?? 0) / 15));
    // §5 voice.e911_penalty: outbound 911 call from a US number without E911 at the call's time.
    if (d.emergency === true && d.direction === "outbound") {
      const from = d.fromResourceId;
      const tl = from === undefined ? undefined : timelines.get(from);
      if (from === undefined) {
        suspense.push({
          product: "voice.e911_penalty",
          reason:
            "outbound emergency call without fromResourceId: cannot tell whether it left a US number with E911",
          ref,
          quantity: ONE,
        });
      } else if (tl?.resourceType !== "number") {
        suspense.push({
          product: "voice.e911_penalty",
          // (policy) an unknown or non-number resource cannot be judged either: suspense, not dropped (G10).
          reason: `outbound emergency call from ${from}, which is not a number resource in the ledger`,
          ref,
          quantity: ONE,
        });
      } else if (numberCountry(tl, e.t) === "US" && !e911ActiveAt(timelines, from, e.t)) {
        charge("voice.e911_penalty", 1);
      }
    }
  }

  // §5 conference participants; the conference belongs to the period of its event's time (policy).
  for (const e of eventsOfType(events, "voice.conference")) {
    if (!inPeriod(e.t, period)) continue;
    for (const [participantId, ms] of conferenceExposure(e.data.participants)) {
      const minutes = Math.ceil(ms / MINUTE); // summed over all ≥3 intervals, rounded up once
      if (minutes > 0)
        charges.push({
          product: "voice.conference_participant",
          dimensions: {},
          quantity: dec(minutes),
          pricedAt: e.t,
          ref: `${refOf(e)} conference ${e.data.conferenceId} participant ${participantId}`,
        });
    }
  }

  const compliance: Record<string, unknown> = {};
  const fairUse = sipTrunkFairUse(account.timezone, period, events, timelines, carried?.previousFairUse);
  if (fairUse) compliance.sipTrunkUnlimitedFairUse = fairUse;
  const short = shortDurationCalls(period, events);
  if (short) compliance.sipTrunkShortDurationCalls = short;
  return { charges, suspense, compliance };
};

type FairUsePeriod = FairUseFigure;

export function fairUseOf(
  period: PeriodWindow,
  calls: readonly Call[],
  timelines: Map<string, ResourceTimeline>,
): FairUsePeriod {
  const peaks = new Map<string, number>();
  for (const tl of timelines.values()) {
    if (tl.resourceType !== "sip_trunk") continue;
    for (const s of tl.segments)
      if (s.data.plan === "unlimited_us" && s.from < period.end && s.to > period.start)
        peaks.set(tl.resourceId, Math.max(peaks.get(tl.resourceId) ?? 0, s.data.channels ?? 0));
  }
  let minutes = 0;
  for (const c of calls) {
    if (!inPeriod(c.t, period) || c.data.direction !== "outbound" || c.data.trunkId === undefined) continue;
    const tl = timelines.get(c.data.trunkId);
    if (tl?.resourceType !== "sip_trunk" || segmentAt(tl, c.t)?.data.plan !== "unlimited_us") continue;
    minutes += billedMinutes(c.data);
  }
  const channels = [...peaks.values()].reduce((s, n) => s + n, 0);
  return {
    period: period.id,
    outboundMinutes: minutes,
    channels,
    minutesPerChannel: channels > 0 ? new Dec(minutes).dividedBy(channels).toFixed(2) : null,
    // Exact, no rounding: minutes / channels > 4000 ⇔ minutes > 4000 × channels. A counted call's
    // trunk is unlimited_us at a moment of the period, so minutes > 0 implies channels ≥ 1.
    breach: minutes > FAIR_USE_MINUTES_PER_CHANNEL * channels,
    trunkIds: [...peaks.keys()].sort(),
  };
}

/**
 * §5 SIP trunk US unlimited plan fair use, account-wide; the previous period's figure is computed
 * from the same history so that two consecutive breaches mark the unlimited trunks for disabling
 * (those on plan unlimited_us at some moment of this period, policy).
 */
function sipTrunkFairUse(
  timezone: string,
  period: PeriodWindow,
  events: readonly LedgerEvent[],
  timelines: Map<string, ResourceTimeline>,
  /** The previous period's figure carried by a snapshot (carry.ts); else computed from the history. */
  carriedPrevious?: FairUsePeriod,
) {
  const calls = eventsOfType(events, "voice.call");
  const current = fairUseOf(period, calls, timelines);
  if (current.channels === 0 && current.outboundMinutes === 0) return undefined;
  const previous =
    carriedPrevious ?? fairUseOf(periodWindow(shiftPeriod(period.id, -1), timezone), calls, timelines);
  const consecutive = current.breach && previous.breach;
  return {
    limitPerChannel: FAIR_USE_MINUTES_PER_CHANNEL,
    ...current,
    previousPeriod: previous,
    consecutiveBreaches: consecutive,
    trunksToDisable: consecutive ? current.trunkIds : [],
  };
}

/** §5 short-duration calls: answered sip_trunk calls of ≤ 6 s over all answered sip_trunk calls. */
function shortDurationCalls(period: PeriodWindow, events: readonly LedgerEvent[]) {
  let answered = 0;
  let short = 0;
  for (const c of eventsOfType(events, "voice.call")) {
    if (!inPeriod(c.t, period) || c.data.service !== "sip_trunk" || !c.data.answered) continue;
    answered += 1;
    if (c.data.durationSeconds <= SHORT_CALL_SECONDS) short += 1;
  }
  if (answered === 0) return undefined;
  const share = new Dec(short).dividedBy(answered);
  return {
    answeredCalls: answered,
    shortCalls: short,
    share: share.toDecimalPlaces(4).toFixed(),
    threshold: SHORT_CALL_THRESHOLD.toFixed(),
    breach: share.gt(SHORT_CALL_THRESHOLD),
  };
}

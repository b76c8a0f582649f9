/**
 * Every product rule, in a fixed order, each with its declaration: the one place that says which
 * event types the rule reads, the state it carries across a period start, and so which periods an
 * event can change (G7). Everything that depends on that is derived from here, so a new rule
 * cannot forget one of them:
 * - the monthly counters (counters.ts COUNTED_TYPES): types read only one event at a time;
 * - the carry-over snapshot (carry.ts): the carriers of every rule;
 * - late marking at ingest (periodsChangedBy, changesLaterPeriods): the event's own period, the
 *   earlier one `reachesBack` names, and a flag that later closed periods may change;
 * - the close's re-rating and adjustments (close-period.ts): from a flagged late period on, every
 *   later closed period whose carried state changed is re-rated and adjusted in order;
 * - the close's look-ahead past a period's end (engine.ts RATING_LOOKAHEAD).
 * Adding a rule = writing its rate function and its declaration below (test/unit/rules/declarations.test.ts
 * checks the declaration against what the rule really reads).
 */
import type { UsageEventType } from "../../../contract/usage-event.js";
import {
  type Carrier,
  carryAnswersSessions,
  carryFairUse,
  carryNamedUsers,
  carryRecordingsAcross,
  carryResources,
  carrySessionIds,
  carryStorageDays,
  carryViberBotWindows,
  carryViberSessions,
  carryWhatsApp,
} from "../carried-state.js";
import type { LedgerEvent, ProductRule } from "../types.js";
import { rateActiveUsers, rateMessages, rateSessions } from "./messaging.js";
import { rateRecording } from "./recording.js";
import { rateResources } from "./resources.js";
import { rateAnswers, rateConversations, rateGenAi, rateMoments } from "./saas.js";
import { rateViber, rateViberBot, VIBER_SESSION_LENGTH } from "./viber.js";
import { rateVoice } from "./voice.js";
import { rateWhatsApp } from "./whatsapp.js";

export interface ProductRuleDeclaration {
  /** As docs/catalogue.md names it. */
  readonly name: string;
  readonly rate: ProductRule;
  /**
   * Types each of whose events the rule charges on its own fields alone, whatever else happened:
   * candidates for the monthly counters (counters.ts), unless another rule reads them `together`.
   */
  readonly perEvent?: readonly UsageEventType[];
  /** Types the rule reads together with other events (sessions, windows, distinct sets, peaks): kept raw. */
  readonly together?: readonly UsageEventType[];
  /**
   * The state the rule carries across a period start: the types whose events it carries and the
   * carriers that keep them in the snapshot. A late event of one of these types can change every
   * later period its state reaches; an event of any other type changes only its own period (and
   * `reachesBack`). Absent: the rule reads nothing from before the period.
   */
  readonly carries?: { readonly types: readonly UsageEventType[]; readonly carriers: readonly Carrier[] };
  /**
   * An earlier period an event can change: for an event `applies` to, the periods of
   * (t − within, t] (§3.1: a Viber session message completes the session its opener began up to
   * 24 h before, in the opener's period). A close reads this far past a period's end.
   */
  readonly reachesBack?: { readonly within: number; readonly applies: (e: LedgerEvent) => boolean };
}

const RESOURCES = ["resource.activated", "resource.deactivated"] as const;

export const productRuleDeclarations: readonly ProductRuleDeclaration[] = [
  {
    name: "messages",
    rate: rateMessages,
    perEvent: [
      "sms.mt",
      "mms.mt",
      "rcs.mt",
      "sms.mo",
      "mms.mo",
      "rcs.mo",
      "number_lookup.request",
      "email.message",
      "email.validation",
      "push.notification",
      "line.message",
      "zalo.message",
      "kakao.message",
    ],
  },
  {
    name: "sessions",
    rate: rateSessions,
    together: ["ussd.session", "kakao.sangdam_session"],
    carries: { types: ["ussd.session", "kakao.sangdam_session"], carriers: [carrySessionIds] },
  },
  {
    name: "active users",
    rate: rateActiveUsers,
    together: ["messenger.message", "telegram.message", "google_bm.message", "apple_bc.message"],
  },
  {
    name: "viber",
    rate: rateViber,
    together: ["viber.inbound", "viber.message"],
    carries: { types: ["viber.inbound", "viber.message"], carriers: [carryViberSessions] },
    reachesBack: {
      within: VIBER_SESSION_LENGTH,
      applies: (e) => e.type === "viber.message" && e.data.messageType === "session",
    },
  },
  {
    name: "viber bot",
    rate: rateViberBot,
    together: ["viber_bot.inbound", "viber_bot.message"],
    carries: { types: ["viber_bot.inbound"], carriers: [carryViberBotWindows] },
  },
  {
    name: "whatsapp",
    rate: rateWhatsApp,
    together: ["whatsapp.inbound", "whatsapp.message"],
    carries: { types: ["whatsapp.inbound", "whatsapp.message"], carriers: [carryWhatsApp] },
  },
  {
    name: "voice",
    rate: rateVoice,
    perEvent: ["voice.conference"],
    // Minutes per call; SIP trunk channels and fair use, E911 and CNAM from the resources' timelines.
    together: ["voice.call", ...RESOURCES],
    carries: { types: ["voice.call", ...RESOURCES], carriers: [carryResources, carryFairUse] },
  },
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
  {
    name: "conversations",
    rate: rateConversations,
    together: ["conversations.user", "conversations.message"],
    carries: { types: ["conversations.user"], carriers: [carryNamedUsers] },
  },
  { name: "moments", rate: rateMoments, together: ["moments.flow_entered"] },
  {
    name: "answers",
    rate: rateAnswers,
    together: ["answers.message", "answers.session_ended"],
    carries: { types: ["answers.message", "answers.session_ended"], carriers: [carryAnswersSessions] },
  },
  { name: "genai", rate: rateGenAi, perEvent: ["genai.interaction"] },
  {
    name: "resources",
    rate: rateResources,
    together: [...RESOURCES],
    carries: { types: [...RESOURCES], carriers: [carryResources] },
  },
];

export const productRules: readonly ProductRule[] = productRuleDeclarations.map((r) => r.rate);

const carriedTypes: ReadonlySet<UsageEventType> = new Set(
  productRuleDeclarations.flatMap((r) => r.carries?.types ?? []),
);

/** True when a late event of this type can change closed periods after its own (G7). */
export const changesLaterPeriods = (type: UsageEventType): boolean => carriedTypes.has(type);

/**
 * The earliest instant whose period the event can change: its own time, or `reachesBack` of a
 * declaring rule.
 */
export function earliestChangedInstant(e: LedgerEvent): number {
  let earliest = e.t;
  for (const r of productRuleDeclarations)
    if (r.reachesBack?.applies(e)) earliest = Math.min(earliest, e.t - r.reachesBack.within + 1);
  return earliest;
}

/** How far past a period's end events can still change its charges: the longest `reachesBack`. */
export const LONGEST_REACH_BACK = Math.max(
  0,
  ...productRuleDeclarations.map((r) => r.reachesBack?.within ?? 0),
);

/** Types read only one event at a time by every rule that reads them: counted in monthly counters. */
export const perEventOnlyTypes: ReadonlySet<UsageEventType> = new Set(
  productRuleDeclarations
    .flatMap((r) => r.perEvent ?? [])
    .filter(
      (t) => !productRuleDeclarations.some((r) => r.together?.includes(t) || r.carries?.types.includes(t)),
    ),
);

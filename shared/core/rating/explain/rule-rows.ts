/**
 * The rating-rules row behind each product (shared/spec/rating-rules.md), as an invoice line's
 * explanation quotes it: the section, the chargeable event and how the quantity is computed. Kept
 * beside the rules (rules/) it describes; the compiler keeps it complete over the catalogue.
 */
import type { ProductCode } from "../../catalogue.js";

export interface RuleRow {
  /** The rating-rules section (and its table or heading). */
  readonly section: string;
  /** The chargeable event, in the spec's words. */
  readonly chargeableEvent: string;
  /** How the rule computes the quantity. */
  readonly quantity: string;
}

const perEvent = (section: string, chargeableEvent: string, unit = "message"): RuleRow => ({
  section,
  chargeableEvent,
  quantity: `1 per chargeable event (${unit}), summed per dimensions, tariff version and unit price`,
});
const msgMt = (name: string) =>
  perEvent("§3 SMS/MMS", `${name} MT accepted and validated for forwarding (status submitted)`);
const msgMo = (name: string) => perEvent("§3", `${name} MO accepted by the platform (status accepted)`);
const activeUsers = (channel: string): RuleRow => ({
  section: `§3 ${channel}`,
  chargeableEvent: `distinct end users with at least one delivered ${channel} message in the period`,
  quantity: "count of distinct endUserId (blocked-only users are informational, G2)",
});
const resourceFee = (what: string): RuleRow => ({
  section: "§4, G11",
  chargeableEvent: `${what} active at any moment of the period ([activated, deactivated))`,
  quantity: "1 per resource active in the period, no proration",
});

export const ruleRows: { readonly [P in ProductCode]: RuleRow } = {
  "sms.mt": msgMt("SMS"),
  "sms.mo": msgMo("SMS"),
  "mms.mt": msgMt("MMS"),
  "mms.mo": msgMo("MMS"),
  "rcs.mt": perEvent("§3 RCS", "RCS MT successfully delivered (status submitted and delivered: true)"),
  "rcs.mo": msgMo("RCS"),
  "number_lookup.request": perEvent("§3 Number Lookup", "each lookup request sent to an operator", "request"),
  "email.message": perEvent(
    "§3 E-mail",
    "each e-mail successfully submitted, and each message to a block-listed address (suppressed)",
  ),
  "email.validation": perEvent(
    "§3 E-mail validation",
    "each validation request successfully submitted",
    "request",
  ),
  "ussd.session": {
    section: "§3 USSD",
    chargeableEvent: "each USSD session initiated by the account or a third party",
    quantity:
      "1 per distinct sessionId, in the period of its first event (an id unseen for 7 days starts anew)",
  },
  "push.notification": perEvent(
    "§3 Mobile App Messaging (policy)",
    "each push notification successfully submitted",
    "notification",
  ),
  "messenger.active_user": activeUsers("Messenger"),
  "telegram.active_user": activeUsers("Telegram"),
  "google_bm.active_user": activeUsers("Google Business Messages"),
  "apple_bc.active_user": activeUsers("Apple Business Chat"),
  "line.message": perEvent("§3 LINE", "each delivered message"),
  "zalo.message": perEvent("§3 ZALO", "each delivered message"),
  "kakao.alimtalk": perEvent("§3 Kakao", "each delivered AlimTalk message"),
  "kakao.chingutalk": perEvent("§3 Kakao", "each delivered ChinguTalk message"),
  "kakao.sangdam_session": {
    section: "§3 Kakao",
    chargeableEvent: "each consultation session initiated by the end user",
    quantity: "1 per distinct sessionId, in the period of its first event",
  },
  "viber.message": perEvent(
    "§3.1 Viber",
    "each delivered message by messageType, except session-type messages covered by a session",
  ),
  "viber.session": {
    section: "§3.1 Viber",
    chargeableEvent:
      "an end-user inbound opens a fixed 24 h session per (serviceId, end user); charged once if a session-type message was delivered in it",
    quantity: "1 per session opened by an inbound of the period (the opener is the sample)",
  },
  "viber_bot.message": perEvent(
    "§3.2 Viber Bot",
    "each delivered bot message outside the customer support window (24 h from the user's latest inbound)",
  ),
  "whatsapp.conversation": {
    section: "§3.3 WhatsApp (before 2025-07-01)",
    chargeableEvent:
      "a delivered template of category C opens a C conversation for 24 h unless one is open; a free-form answer inside the CSW with no open conversation opens a service conversation",
    quantity: "1 per conversation window opened in the period (the opening message is the sample)",
  },
  "whatsapp.template": perEvent(
    "§3.3 WhatsApp (from 2025-07-01)",
    "each delivered template by category; utility templates inside the CSW are free",
  ),
  "whatsapp.freeform": perEvent("§3.3 WhatsApp (from 2025-07-01)", "each delivered free-form message"),
  "whatsapp.sender": resourceFee("a registered WhatsApp sender"),
  "conversations.active_agents": {
    section: "§2 Conversations (Full solution)",
    chargeableEvent: "named users provisioned (conversations.user added/removed)",
    quantity: "peak number of named users provisioned at the same time during the period",
  },
  "conversations.active_conversations": {
    section: "§2 Conversations API",
    chargeableEvent: "a conversationId with at least one message in the period",
    quantity: "count of distinct conversationId",
  },
  "moments.engaged_people": {
    section: "§2 Moments",
    chargeableEvent: "an end user entering at least one Flow in the period",
    quantity: "count of distinct end users",
  },
  "answers.active_sessions": {
    section: "§2, §2.1 Answers",
    chargeableEvent:
      "a chatbot session opened by an inbound message when the (bot, end user) pair has none open",
    quantity: "sessions opened in the period (closed by session_ended or the session timeout)",
  },
  "genai.interaction": {
    section: "§2 GEN AI",
    chargeableEvent: "each request processed with a GEN AI feature",
    quantity: "Σ units (default 1) per feature and model",
  },
  "number.setup": {
    section: "§4 Numbers, G11",
    chargeableEvent: "a number provisioned (first activation of its resourceId, ever)",
    quantity: "1 per resourceId, once",
  },
  "number.monthly": resourceFee("a number"),
  "voice.cnam": resourceFee("a CNAM feature"),
  "voice.e911": resourceFee("an E911 feature"),
  "sip_trunk.channel": {
    section: "§4 Numbers, G11",
    chargeableEvent: "SIP trunk channels active in the period",
    quantity: "Σ over the account's trunks of each trunk's peak channel count in the period",
  },
  "ip_address.monthly": resourceFee("an IP address"),
  "byoc.setup": {
    section: "§4 Numbers",
    chargeableEvent: "BYOC set up (first activation of its resourceId, ever)",
    quantity: "1 per resourceId, once",
  },
  "voice.minute": {
    section: "§5 Voice and video",
    chargeableEvent: "a call answered by someone who counts for its service (call_link, byoc: duration > 0)",
    quantity: "⌈durationSeconds / 60⌉ per call (each started minute)",
  },
  "voice.amd": {
    section: "§5 Voice and video",
    chargeableEvent: "answering-machine detection requested and the call answered",
    quantity: "1 per call",
  },
  "voice.transcription": {
    section: "§5 Voice and video",
    chargeableEvent: "speech capture / transcription used on a call",
    quantity: "⌈transcriptionSeconds / 15⌉ per call",
  },
  "voice.conference_participant": {
    section: "§5 Voice and video",
    chargeableEvent: "a participant in a conference room while it held 3 or more participants",
    quantity: "⌈Σ seconds in the room with ≥ 3 participants / 60⌉ per participant",
  },
  "voice.e911_penalty": {
    section: "§5 Voice and video",
    chargeableEvent:
      "an outbound emergency call from a US number with no E911 feature active at the call's time",
    quantity: "1 per call",
  },
  "recording.license": {
    section: "§5 Recording",
    chargeableEvent: "a call recorded in the period (accounts not on Conversations Full solution)",
    quantity: "min(recorded calls, recording limit)",
  },
  "recording.storage_gb_day": {
    section: "§5 Recording",
    chargeableEvent: "recordings stored, per day (Conversations Full solution accounts)",
    quantity: "Σ over days of GB stored that day (the day's latest storage report counts)",
  },
  "recording.storage_minute_day": {
    section: "§5 Recording",
    chargeableEvent: "recorded minutes stored, per day",
    quantity: "Σ over days of recorded minutes stored that day (the day's latest storage report counts)",
  },
  "recording.video_storage_gb_day": {
    section: "§5 Recording",
    chargeableEvent: "video recordings stored, per day",
    quantity: "Σ over days of video GB stored that day (the day's latest storage report counts)",
  },
  "recording.video_export": perEvent(
    "§5 Recording (policy)",
    "each recording exported to the account's platform",
    "export",
  ),
};

/** What a line type adds to its product's row (contract §4; rating-rules G2, G7, §2, §3.1). */
export const lineTypeRows: Readonly<Record<string, string>> = {
  package_fee: "§2 package: the fixed monthly fee, charged every period used or not",
  package_overage: "§2 package: the period's quantity above the included quantity, at the overage unit price",
  proration: "§2 first month of named-user pricing: the package fee prorated by (D − d + 1) / D",
  commitment_true_up:
    "§3.1 minimum monthly commitment: the active sender's shortfall of unrounded viber.message + viber.session charges",
  informational: "G2: traffic blocked by Signals, reported at zero price and counted in nothing",
  adjustment:
    "G7: the reference period re-rated with late events; only the difference from lines already emitted",
};

/** Event types whose events a product's quantity is computed from (samples when a rule gives no identity). */
export const sourceTypes: Readonly<Record<string, readonly string[]>> = {
  "messenger.active_user": ["messenger.message"],
  "telegram.active_user": ["telegram.message"],
  "google_bm.active_user": ["google_bm.message"],
  "apple_bc.active_user": ["apple_bc.message"],
  "conversations.active_agents": ["conversations.user"],
  "conversations.active_conversations": ["conversations.message"],
  "moments.engaged_people": ["moments.flow_entered"],
  "answers.active_sessions": ["answers.message"],
  "sip_trunk.channel": ["resource.activated"],
  "recording.license": ["voice.call"],
  "whatsapp.sender": ["resource.activated"],
  "number.monthly": ["resource.activated"],
  "voice.cnam": ["resource.activated"],
  "voice.e911": ["resource.activated"],
  "ip_address.monthly": ["resource.activated"],
};

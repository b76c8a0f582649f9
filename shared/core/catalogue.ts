/**
 * The product catalogue: every billable product code of rating-rules.md, the invoice line type its
 * charges take (contract §4) and the pricing dimensions it carries (rating-rules §1.1).
 */
export type ChargeLineType = "usage" | "recurring" | "one_time";

export interface ProductDefinition {
  readonly lineType: ChargeLineType;
  /** Pricing dimensions (rating-rules §1.1); a charge carries only those the event gives (G14). */
  readonly dimensions: readonly string[];
  /** Sold as a monthly package (rating-rules §2) when the tariff version has one for it. */
  readonly packaged?: boolean;
  readonly unit: string;
  readonly section: string;
}

const msg = ["country", "network"] as const;
const usage = (unit: string, section: string, dimensions: readonly string[] = []): ProductDefinition => ({
  lineType: "usage",
  dimensions,
  unit,
  section,
});
const recurring = (unit: string, section: string, dimensions: readonly string[] = []): ProductDefinition => ({
  lineType: "recurring",
  dimensions,
  unit,
  section,
});

export const catalogue = {
  "sms.mt": usage("message", "SMS", msg),
  "sms.mo": usage("message", "SMS", msg),
  "mms.mt": usage("message", "MMS", msg),
  "mms.mo": usage("message", "MMS", msg),
  "rcs.mt": usage("message", "RCS", msg),
  "rcs.mo": usage("message", "RCS", msg),
  "number_lookup.request": usage("request", "Number Lookup", ["country"]),
  "email.message": usage("message", "E-mail"),
  "email.validation": usage("request", "E-mail validation"),
  "ussd.session": usage("session", "USSD", ["country"]),
  "push.notification": usage("notification", "Mobile App Messaging", ["platform"]),
  "messenger.active_user": usage("active user", "Messenger"),
  "telegram.active_user": usage("active user", "Telegram"),
  "google_bm.active_user": usage("active user", "Google Business Messages"),
  "apple_bc.active_user": usage("active user", "Apple Business Chat"),
  "line.message": usage("message", "LINE"),
  "zalo.message": usage("message", "ZALO"),
  "kakao.alimtalk": usage("message", "Kakao"),
  "kakao.chingutalk": usage("message", "Kakao"),
  "kakao.sangdam_session": usage("session", "Kakao"),
  "viber.message": usage("message", "Viber", ["messageType"]),
  "viber.session": usage("session", "Viber"),
  "viber_bot.message": usage("message", "Viber Bot"),
  "whatsapp.conversation": usage("conversation", "WhatsApp", ["category"]),
  "whatsapp.template": usage("message", "WhatsApp", ["category"]),
  "whatsapp.freeform": usage("message", "WhatsApp"),
  "whatsapp.sender": recurring("sender-month", "WhatsApp", ["hosting"]),
  "conversations.active_agents": { ...usage("named user", "Conversations"), packaged: true },
  "conversations.active_conversations": { ...usage("conversation", "Conversations API"), packaged: true },
  "moments.engaged_people": { ...usage("person", "Moments"), packaged: true },
  "answers.active_sessions": { ...usage("session", "Answers"), packaged: true },
  "genai.interaction": usage("unit", "GEN AI", ["feature", "model"]),
  "number.setup": {
    lineType: "one_time",
    dimensions: ["numberType", "country"],
    unit: "number",
    section: "Numbers",
  },
  "number.monthly": recurring("number-month", "Numbers", ["numberType", "country"]),
  "voice.cnam": recurring("number-month", "Voice"),
  "voice.e911": recurring("number-month", "Voice"),
  "sip_trunk.channel": recurring("channel-month", "SIP Trunk", ["plan", "country"]),
  "ip_address.monthly": recurring("address-month", "Numbers"),
  "byoc.setup": { lineType: "one_time", dimensions: [], unit: "setup", section: "BYOC" },
  "voice.minute": usage("minute", "Voice and Video Calls", ["service", "direction", "country"]),
  "voice.amd": usage("call", "Voice and Video Calls"),
  "voice.transcription": usage("15 s", "Voice and Video Calls"),
  "voice.conference_participant": usage("minute", "Conference"),
  "voice.e911_penalty": usage("call", "Voice"),
  "recording.license": recurring("licence", "Voice and Video Recording"),
  "recording.storage_gb_day": usage("GB-day", "Voice and Video Recording"),
  "recording.storage_minute_day": usage("minute-day", "Voice and Video Recording"),
  "recording.video_storage_gb_day": usage("GB-day", "Voice and Video Recording"),
  "recording.video_export": usage("export", "Voice and Video Recording"),
} as const satisfies Record<string, ProductDefinition>;

export type ProductCode = keyof typeof catalogue;
export const productCodes = Object.keys(catalogue) as ProductCode[];
export const isProductCode = (s: string): s is ProductCode => Object.hasOwn(catalogue, s);
export const productDefinition = (p: ProductCode): ProductDefinition => catalogue[p];

/** Products whose period quantity can be sold as a package (rating-rules §2). */
export const packagedProducts = productCodes.filter(
  (p) => (catalogue[p] as ProductDefinition).packaged === true,
);

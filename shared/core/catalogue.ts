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
}

const msg = ["country", "network"] as const;
const usage = (unit: string, dimensions: readonly string[] = []): ProductDefinition => ({
  lineType: "usage",
  dimensions,
  unit,
});
const recurring = (unit: string, dimensions: readonly string[] = []): ProductDefinition => ({
  lineType: "recurring",
  dimensions,
  unit,
});

export const catalogue = {
  "sms.mt": usage("message", msg),
  "sms.mo": usage("message", msg),
  "mms.mt": usage("message", msg),
  "mms.mo": usage("message", msg),
  "rcs.mt": usage("message", msg),
  "rcs.mo": usage("message", msg),
  "number_lookup.request": usage("request", ["country"]),
  "email.message": usage("message"),
  "email.validation": usage("request"),
  "ussd.session": usage("session", ["country"]),
  "push.notification": usage("notification", ["platform"]),
  "messenger.active_user": usage("active user"),
  "telegram.active_user": usage("active user"),
  "google_bm.active_user": usage("active user"),
  "apple_bc.active_user": usage("active user"),
  "line.message": usage("message"),
  "zalo.message": usage("message"),
  "kakao.alimtalk": usage("message"),
  "kakao.chingutalk": usage("message"),
  "kakao.sangdam_session": usage("session"),
  "viber.message": usage("message", ["messageType"]),
  "viber.session": usage("session"),
  "viber_bot.message": usage("message"),
  "whatsapp.conversation": usage("conversation", ["category"]),
  "whatsapp.template": usage("message", ["category"]),
  "whatsapp.freeform": usage("message"),
  "whatsapp.sender": recurring("sender-month", ["hosting"]),
  "conversations.active_agents": { ...usage("named user"), packaged: true },
  "conversations.active_conversations": { ...usage("conversation"), packaged: true },
  "moments.engaged_people": { ...usage("person"), packaged: true },
  "answers.active_sessions": { ...usage("session"), packaged: true },
  "genai.interaction": usage("unit", ["feature", "model"]),
  "number.setup": {
    lineType: "one_time",
    dimensions: ["numberType", "country"],
    unit: "number",
  },
  "number.monthly": recurring("number-month", ["numberType", "country"]),
  "voice.cnam": recurring("number-month"),
  "voice.e911": recurring("number-month"),
  "sip_trunk.channel": recurring("channel-month", ["plan", "country"]),
  "ip_address.monthly": recurring("address-month"),
  "byoc.setup": { lineType: "one_time", dimensions: [], unit: "setup" },
  "voice.minute": usage("minute", ["service", "direction", "country"]),
  "voice.amd": usage("call"),
  "voice.transcription": usage("15 s"),
  "voice.conference_participant": usage("minute"),
  "voice.e911_penalty": usage("call"),
  "recording.license": recurring("licence"),
  "recording.storage_gb_day": usage("GB-day"),
  "recording.storage_minute_day": usage("minute-day"),
  "recording.video_storage_gb_day": usage("GB-day"),
  "recording.video_export": usage("export"),
} as const satisfies Record<string, ProductDefinition>;

export type ProductCode = keyof typeof catalogue;
export const productCodes = Object.keys(catalogue) as ProductCode[];
export const isProductCode = (s: string): s is ProductCode => Object.hasOwn(catalogue, s);

/** Products whose period quantity can be sold as a package (rating-rules §2). */
export const packagedProducts = productCodes.filter(
  (p) => (catalogue[p] as ProductDefinition).packaged === true,
);

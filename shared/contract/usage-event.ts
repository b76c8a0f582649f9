/**
 * Usage message contract (contract.md §1): one CloudEvents 1.0 event, structured JSON mode.
 * Unknown extra keys in `data` are kept (passthrough) but ignored by rating.
 */
import { z } from "zod";
import { dimensionValue, isoInstant, isRealDateTime } from "./common.js";
import { BillingError } from "./errors.js";

const nonEmpty = z.string().min(1);
const country = z.string().regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2 country code (two upper-case letters)");
const blocked = z.boolean().optional();

const seconds = z.number().int().nonnegative();
/** RFC 3339 with an explicit offset (Z or ±hh:mm). */
export const rfc3339 = isoInstant;
const isoDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "YYYY-MM-DD")
  .refine((s) => isRealDateTime(`${s}T00:00:00Z`), "not a real day");

const data = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);

const outboundMessage = data({
  to: nonEmpty,
  country,
  network: dimensionValue.optional(),
  status: z.enum(["submitted", "rejected"]),
  blocked,
});
const inboundMessage = data({
  from: nonEmpty,
  country,
  network: dimensionValue.optional(),
  status: z.enum(["accepted", "rejected"]),
});
const deliveredToEndUser = data({ endUserId: nonEmpty, delivered: z.boolean(), blocked });

export const resourceTypes = [
  "number",
  "whatsapp_sender",
  "cnam",
  "e911",
  "sip_trunk",
  "ip_address",
  "byoc",
] as const;

const resourceData = data({
  resourceId: nonEmpty,
  resourceType: z.enum(resourceTypes),
  numberType: dimensionValue.optional(),
  country: country.optional(),
  hosting: z.enum(["cloud", "hosted"]).optional(),
  channels: z.number().int().min(1).optional(),
  plan: z.enum(["metered", "unlimited_us"]).optional(),
  numberResourceId: nonEmpty.optional(),
}).superRefine((d, ctx) => {
  const need = (key: keyof typeof d, why: string) => {
    if (d[key] === undefined)
      ctx.addIssue({ code: "custom", path: [key as string], message: `required ${why}` });
  };
  if (d.resourceType === "number") {
    need("numberType", "for resourceType number");
    need("country", "for resourceType number");
  }
  if (d.resourceType === "whatsapp_sender") need("hosting", "for resourceType whatsapp_sender");
  if (d.resourceType === "sip_trunk") {
    need("channels", "for resourceType sip_trunk");
    need("plan", "for resourceType sip_trunk");
    need("country", "for resourceType sip_trunk");
  }
  if (d.resourceType === "cnam" || d.resourceType === "e911")
    need("numberResourceId", `for resourceType ${d.resourceType}`);
});

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

/** `data` schema per CloudEvents `type`. */
export const eventDataSchemas = {
  "sms.mt": outboundMessage,
  "mms.mt": outboundMessage,
  "rcs.mt": outboundMessage.extend({ delivered: z.boolean() }),
  "sms.mo": inboundMessage,
  "mms.mo": inboundMessage,
  "rcs.mo": inboundMessage,
  "number_lookup.request": data({ msisdn: nonEmpty, country, status: z.enum(["sent", "rejected"]) }),
  "email.message": data({ to: nonEmpty, status: z.enum(["submitted", "rejected", "suppressed"]), blocked }),
  "email.validation": data({
    address: nonEmpty,
    status: z.enum(["submitted", "rejected"]),
    result: z.enum(["yes", "no", "unknown"]).optional(),
  }),
  "ussd.session": data({ sessionId: nonEmpty, country, initiatedBy: z.enum(["account", "third_party"]) }),
  "push.notification": data({ platform: dimensionValue, status: z.enum(["submitted", "rejected"]) }),
  "messenger.message": deliveredToEndUser,
  "telegram.message": deliveredToEndUser,
  "google_bm.message": deliveredToEndUser,
  "apple_bc.message": deliveredToEndUser,
  "line.message": deliveredToEndUser,
  "zalo.message": deliveredToEndUser,
  "kakao.message": deliveredToEndUser.extend({ product: z.enum(["alimtalk", "chingutalk"]) }),
  "kakao.sangdam_session": data({ endUserId: nonEmpty, sessionId: nonEmpty }),
  "viber.inbound": data({ endUserId: nonEmpty, serviceId: nonEmpty }),
  "viber.message": deliveredToEndUser.extend({
    serviceId: nonEmpty,
    messageType: z.enum(["transactional", "promotional", "session"]),
  }),
  "viber_bot.inbound": data({ endUserId: nonEmpty, botId: nonEmpty }),
  "viber_bot.message": deliveredToEndUser.extend({ botId: nonEmpty }),
  "whatsapp.inbound": data({ endUserId: nonEmpty, senderId: nonEmpty }),
  "whatsapp.message": deliveredToEndUser
    .extend({
      senderId: nonEmpty,
      kind: z.enum(["template", "freeform"]),
      category: z.enum(["marketing", "utility", "authentication"]).optional(),
    })
    .superRefine((d, ctx) => {
      if (d.kind === "template" && d.category === undefined)
        ctx.addIssue({ code: "custom", path: ["category"], message: "required for kind template" });
    }),
  "conversations.user": data({ userId: nonEmpty, action: z.enum(["added", "removed"]) }),
  "conversations.message": data({
    conversationId: nonEmpty,
    direction: z.enum(["inbound", "outbound"]),
    blocked,
  }),
  "moments.flow_entered": data({ endUserId: nonEmpty, flowId: nonEmpty }),
  "answers.message": data({
    botId: nonEmpty,
    endUserId: nonEmpty,
    direction: z.enum(["inbound", "outbound"]),
    blocked,
  }),
  "answers.session_ended": data({
    botId: nonEmpty,
    endUserId: nonEmpty,
    reason: z.enum(["completed", "transferred"]),
  }),
  "genai.interaction": data({
    feature: dimensionValue,
    model: dimensionValue.optional(),
    units: z.number().positive().optional(),
  }),
  "resource.activated": resourceData,
  "resource.deactivated": resourceData,
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
  "recording.storage": data({
    day: isoDay,
    minutes: z.number().nonnegative().optional(),
    gigabytes: z.number().nonnegative().optional(),
    videoGigabytes: z.number().nonnegative().optional(),
  }),
  "recording.exported": data({ recordingId: nonEmpty }),
} as const;

export type UsageEventType = keyof typeof eventDataSchemas;
export const usageEventTypes = Object.keys(eventDataSchemas) as UsageEventType[];
export type EventData<T extends UsageEventType> = z.infer<(typeof eventDataSchemas)[T]>;

/** The CloudEvents envelope, with `data` checked only as an object (the per-type check follows). */
export const cloudEventEnvelopeSchema = z.object({
  specversion: z.literal("1.0"),
  id: z.string().min(1).max(256),
  /** At most 1,024 bytes of UTF-8 (policy): with `id` it keys the ledger. */
  source: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[^\s]+$/, "URI-reference without white space")
    .refine((s) => Buffer.byteLength(s) <= 1024, "at most 1024 bytes (UTF-8)"),
  type: z.enum(usageEventTypes as [UsageEventType, ...UsageEventType[]]),
  subject: z.string().min(1),
  time: rfc3339,
  datacontenttype: z.string().optional(),
  dataschema: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});

type EnvelopeOf<T extends UsageEventType> = Omit<
  z.infer<typeof cloudEventEnvelopeSchema>,
  "type" | "data"
> & {
  type: T;
  data: EventData<T>;
};
/** A validated usage message: the envelope with `data` narrowed by `type`. */
export type UsageEvent = { [T in UsageEventType]: EnvelopeOf<T> }[UsageEventType];

/** The full schema, a discriminated union over `type` (used for JSON Schema generation). */
export const usageEventSchema = z.discriminatedUnion(
  "type",
  usageEventTypes.map((t) =>
    cloudEventEnvelopeSchema.extend({ type: z.literal(t), data: eventDataSchemas[t] }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

export class InvalidUsageMessageError extends BillingError {
  override readonly name = "InvalidUsageMessageError";
  constructor(
    readonly reason: string,
    readonly issues: { path: string; message: string }[] = [],
    options?: ErrorOptions,
  ) {
    super(reason, options);
  }
}

const describe = (issues: z.core.$ZodIssue[], prefix: string) =>
  issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join("."),
    message: i.message,
  }));

/** Parses one SQS message body into a UsageEvent, or throws InvalidUsageMessageError with a readable reason. */
export function parseUsageMessage(body: string): UsageEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    throw new InvalidUsageMessageError(`body is not JSON: ${(e as Error).message}`, [], { cause: e });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new InvalidUsageMessageError("body is not a JSON object");
  const env = cloudEventEnvelopeSchema.safeParse(json);
  if (!env.success) {
    const issues = describe(env.error.issues, "");
    throw new InvalidUsageMessageError(
      `invalid CloudEvents envelope: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
      issues,
    );
  }
  const type = env.data.type;
  const parsed = eventDataSchemas[type].safeParse(env.data.data);
  if (!parsed.success) {
    const issues = describe(parsed.error.issues, "data");
    throw new InvalidUsageMessageError(
      `invalid data for ${type}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      issues,
    );
  }
  return { ...env.data, data: parsed.data } as UsageEvent;
}

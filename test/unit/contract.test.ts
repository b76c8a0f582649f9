/** The usage-message contract (contract.md §1): every type validates, malformed messages get a readable reason. */
import { describe, expect, it } from "vitest";
import { InvalidUsageMessageError } from "../../shared/contract/usage-event.js";
import { parseTariffs } from "../../shared/core/config.js";
import { parseUsageMessage, usageEventTypes } from "../../shared/core/products/index.js";

const envelope = (type: string, data: unknown, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    specversion: "1.0",
    id: "e1",
    source: "/gw",
    type,
    subject: "acme",
    time: "2025-07-02T09:00:00+03:00",
    data,
    ...over,
  });

/** One valid `data` per event type of contract §1. */
const validData: Record<string, unknown> = {
  "sms.mt": { to: "9053", country: "TR", status: "submitted" },
  "mms.mt": { to: "9053", country: "TR", network: "tcell", status: "rejected", blocked: true },
  "rcs.mt": { to: "9053", country: "TR", status: "submitted", delivered: true },
  "sms.mo": { from: "9053", country: "TR", status: "accepted" },
  "mms.mo": { from: "9053", country: "TR", status: "rejected" },
  "rcs.mo": { from: "9053", country: "TR", status: "accepted" },
  "number_lookup.request": { msisdn: "9053", country: "TR", status: "sent" },
  "email.message": { to: "a@b.c", status: "suppressed" },
  "email.validation": { address: "a@b.c", status: "submitted", result: "unknown" },
  "ussd.session": { sessionId: "s1", country: "NG", initiatedBy: "third_party" },
  "push.notification": { platform: "ios", status: "submitted" },
  "messenger.message": { endUserId: "u1", delivered: true },
  "telegram.message": { endUserId: "u1", delivered: false },
  "google_bm.message": { endUserId: "u1", delivered: true, blocked: false },
  "apple_bc.message": { endUserId: "u1", delivered: true },
  "line.message": { endUserId: "u1", delivered: true },
  "zalo.message": { endUserId: "u1", delivered: true },
  "kakao.message": { endUserId: "u1", product: "alimtalk", delivered: true },
  "kakao.sangdam_session": { endUserId: "u1", sessionId: "k1" },
  "viber.inbound": { endUserId: "u1", serviceId: "svc" },
  "viber.message": { endUserId: "u1", serviceId: "svc", messageType: "session", delivered: true },
  "viber_bot.inbound": { endUserId: "u1", botId: "b" },
  "viber_bot.message": { endUserId: "u1", botId: "b", delivered: true },
  "whatsapp.inbound": { endUserId: "u1", senderId: "wa1" },
  "whatsapp.message": {
    endUserId: "u1",
    senderId: "wa1",
    kind: "template",
    category: "utility",
    delivered: true,
  },
  "conversations.user": { userId: "agent1", action: "added" },
  "conversations.message": { conversationId: "c1", direction: "inbound" },
  "moments.flow_entered": { endUserId: "u1", flowId: "f1" },
  "answers.message": { botId: "b", endUserId: "u1", direction: "outbound" },
  "answers.session_ended": { botId: "b", endUserId: "u1", reason: "transferred" },
  "genai.interaction": { feature: "summary", model: "m1", units: 2.5 },
  "resource.activated": { resourceId: "n1", resourceType: "number", numberType: "long", country: "US" },
  "resource.deactivated": {
    resourceId: "t1",
    resourceType: "sip_trunk",
    channels: 10,
    plan: "unlimited_us",
    country: "US",
  },
  "voice.call": {
    callId: "c1",
    service: "calls",
    direction: "outbound",
    country: "US",
    answered: true,
    answeredBy: "machine",
    durationSeconds: 61,
    amd: true,
    recording: { startedAt: "2025-07-02T09:00:00Z", endedAt: "2025-07-02T09:01:00Z" },
  },
  "voice.conference": {
    conferenceId: "r1",
    participants: [{ participantId: "p1", joinedAt: "2025-07-02T09:00:00Z", leftAt: "2025-07-02T09:10:00Z" }],
  },
  "recording.storage": { day: "2025-07-02", minutes: 10, gigabytes: 0.5 },
  "recording.exported": { recordingId: "rec1" },
};

describe("contract §1: every event type", () => {
  it("has a valid example here", () => {
    expect(Object.keys(validData).sort()).toEqual([...usageEventTypes].sort());
  });
  it.each(Object.entries(validData))("%s validates and keeps unknown extra keys", (type, data) => {
    const e = parseUsageMessage(envelope(type, { ...(data as object), extraKey: 1 }));
    expect(e.type).toBe(type);
    expect((e.data as Record<string, unknown>).extraKey).toBe(1);
  });
});

describe("contract §1: malformed messages are refused with a clear reason", () => {
  it.each([
    ["not JSON", "{not json", /body is not JSON/],
    ["not an object", "[1,2]", /not a JSON object/],
    ["wrong specversion", envelope("sms.mt", validData["sms.mt"], { specversion: "0.3" }), /specversion/],
    [
      "unknown type",
      envelope("fax.sent", {}),
      /^invalid CloudEvents envelope: type: unknown event type "fax\.sent": not a product of the catalogue$/,
    ],
    ["missing id", envelope("sms.mt", validData["sms.mt"], { id: "" }), /id/],
    ["id over 256 chars", envelope("sms.mt", validData["sms.mt"], { id: "x".repeat(257) }), /id/],
    [
      "time without offset",
      envelope("sms.mt", validData["sms.mt"], { time: "2025-07-02T09:00:00" }),
      /time: RFC 3339/,
    ],
    ["impossible date", envelope("sms.mt", validData["sms.mt"], { time: "2025-02-30T09:00:00Z" }), /time/],
    ["bad country", envelope("sms.mt", { to: "1", country: "TUR", status: "submitted" }), /data\.country/],
    ["bad status", envelope("sms.mt", { to: "1", country: "TR", status: "delivered" }), /data\.status/],
    [
      "missing data field",
      envelope("rcs.mt", { to: "1", country: "TR", status: "submitted" }),
      /data\.delivered/,
    ],
    [
      "template without category",
      envelope("whatsapp.message", { endUserId: "u", senderId: "s", kind: "template", delivered: true }),
      /data\.category/,
    ],
    [
      "number resource without numberType",
      envelope("resource.activated", { resourceId: "n", resourceType: "number", country: "US" }),
      /data\.numberType/,
    ],
    [
      "fractional duration",
      envelope("voice.call", { ...(validData["voice.call"] as object), durationSeconds: 1.5 }),
      /data\.durationSeconds/,
    ],
    ["genai units not positive", envelope("genai.interaction", { feature: "f", units: 0 }), /data\.units/],
  ])("%s", (_name, body, reason) => {
    let error: unknown;
    try {
      parseUsageMessage(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidUsageMessageError);
    expect((error as Error).message).toMatch(reason);
  });
});

describe("contract §1: a value that becomes a pricing dimension", () => {
  // The free-text dimension fields (the others are enums or country codes): where each lives.
  const carriers: [string, string, Record<string, unknown>][] = [
    ["network", "sms.mt", validData["sms.mt"] as Record<string, unknown>],
    ["platform", "push.notification", validData["push.notification"] as Record<string, unknown>],
    ["numberType", "resource.activated", validData["resource.activated"] as Record<string, unknown>],
    ["feature", "genai.interaction", validData["genai.interaction"] as Record<string, unknown>],
    ["model", "genai.interaction", validData["genai.interaction"] as Record<string, unknown>],
  ];
  const refused: [string, string, RegExp][] = [
    ["empty", "", /1–128 characters/],
    ["129 characters", "x".repeat(129), /1–128 characters/],
    ["a semicolon", "chat;v2", /";"/],
    ["an equals sign", "tier=2", /"="/],
    ["a tab (control character)", "chat\tv2", /control/],
    ["a newline (control character)", "chat\nv2", /control/],
    ["NUL (control character)", "chat\u0000v2", /control/],
    ["DEL (control character)", "chat\u007fv2", /control/],
    ["a C1 control character", "chat\u0085v2", /control/],
    ["a line separator (not printable)", "chat\u2028v2", /printable/],
    ["a zero-width format character (not printable)", "chat\u200bv2", /printable/],
    ["a lone surrogate (not printable)", "chat\ud800v2", /printable/],
  ];
  const accepted = [
    "chat|v2",
    "a,b",
    'say "hi"',
    "it's",
    " spaced  out ",
    "Çağrı özeti",
    "要約",
    "emoji 🚀",
    "x".repeat(128),
    "🚀".repeat(128), // 128 characters (code points), 256 UTF-16 units
  ];
  for (const [field, type, data] of carriers) {
    it.each(refused)(`${field} with %s is refused, naming the field`, (_name, value, reason) => {
      let error: unknown;
      try {
        parseUsageMessage(envelope(type, { ...data, [field]: value }));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidUsageMessageError);
      expect((error as Error).message).toContain(`data.${field}:`);
      expect((error as Error).message).toMatch(reason);
    });
    it(`${field} keeps every other character unchanged`, () => {
      for (const value of accepted) {
        const e = parseUsageMessage(envelope(type, { ...data, [field]: value }));
        expect((e.data as Record<string, unknown>)[field]).toBe(value);
      }
    });
  }
});

describe("contract §3: a tariff rate's match value is a pricing-dimension value", () => {
  it("refuses a value that no event could carry, naming the rate", () => {
    const file = (value: string) => [
      {
        tariffId: "t1",
        currency: "EUR",
        versions: [
          {
            publishedAt: "2024-12-01T00:00:00Z",
            effectiveFrom: "2025-01-01T00:00:00Z",
            rates: [{ product: "genai.interaction", match: { feature: value }, unitPrice: "0.1" }],
          },
        ],
      },
    ];
    expect(() => parseTariffs(file("chat;v2"))).toThrow(/match\.feature.*";"/);
    expect(() => parseTariffs(file("tier=2"))).toThrow(/match\.feature.*"="/);
    expect(parseTariffs(file('chat|v2, "β"'))[0]?.versions[0]?.rates[0]?.match).toEqual({
      feature: 'chat|v2, "β"',
    });
  });
});

/**
 * A fast-check generator of mixed usage events across products, around the July 2025 period, and
 * the builders of the stateful families' events it shares with the carry-over property: one per
 * kind, with the ids the tariffs and accounts of those tests expect (Viber service svc-1, WhatsApp
 * sender wa1, bot b1).
 */
import fc from "fast-check";
import { type EventInput, ev } from "./events.js";

type Direction = "inbound" | "outbound";
/** A message's own fields: the builder sets its end user and sender. */
type ViberMessage = Pick<EventInput<"viber.message">, "messageType" | "delivered" | "blocked">;
type WhatsAppMessage = Pick<EventInput<"whatsapp.message">, "kind" | "category" | "delivered" | "blocked">;

export const viberInbound = (time: string, user: string) =>
  ev("viber.inbound", time, { endUserId: user, serviceId: "svc-1" });
export const viberMessage = (time: string, user: string, message: ViberMessage) =>
  ev("viber.message", time, { endUserId: user, serviceId: "svc-1", ...message });
export const viberBotInbound = (time: string, user: string) =>
  ev("viber_bot.inbound", time, { endUserId: user, botId: "b1" });
export const viberBotMessage = (time: string, user: string) =>
  ev("viber_bot.message", time, { endUserId: user, botId: "b1", delivered: true });
export const whatsappInbound = (time: string, user: string) =>
  ev("whatsapp.inbound", time, { endUserId: user, senderId: "wa1" });
export const whatsappMessage = (time: string, user: string, message: WhatsAppMessage) =>
  ev("whatsapp.message", time, { endUserId: user, senderId: "wa1", ...message });
export const answersMessage = (time: string, user: string, direction: Direction) =>
  ev("answers.message", time, { botId: "b1", endUserId: user, direction });
export const answersSessionEnded = (time: string, user: string) =>
  ev("answers.session_ended", time, { botId: "b1", endUserId: user, reason: "completed" });
export const momentsFlowEntered = (time: string, user: string, flowId: string) =>
  ev("moments.flow_entered", time, { endUserId: user, flowId });
export const conversationsUser = (time: string, user: string, action: "added" | "removed") =>
  ev("conversations.user", time, { userId: user, action });
export const messengerMessage = (time: string, user: string, delivered: boolean) =>
  ev("messenger.message", time, { endUserId: user, delivered });

const users = ["u1", "u2", "u3"];
const base = Date.parse("2025-06-30T20:00:00Z");
const HOUR = 3_600_000;

/** One random usage event of the mix, at a random instant around the July period. */
export const eventArb = fc
  .record({
    kind: fc.integer({ min: 0, max: 16 }),
    hour: fc.integer({ min: 0, max: 24 * 33 }),
    minute: fc.integer({ min: 0, max: 3 }),
    user: fc.constantFrom(...users),
    flag: fc.boolean(),
    n: fc.integer({ min: 1, max: 130 }),
  })
  .map(({ kind, hour, minute, user, flag, n }) => {
    const time = new Date(base + hour * HOUR + minute * 60_000).toISOString();
    switch (kind) {
      case 0:
        return ev("sms.mt", time, {
          to: user,
          country: flag ? "TR" : "DE",
          status: n % 5 ? "submitted" : "rejected",
          blocked: n % 7 === 0,
        });
      case 1:
        return ev("sms.mo", time, { from: user, country: "TR", status: "accepted" });
      case 2:
        return whatsappInbound(time, user);
      case 3:
        return whatsappMessage(time, user, {
          kind: flag ? "template" : "freeform",
          category: (["marketing", "utility", "authentication"] as const)[n % 3],
          delivered: n % 4 !== 0,
        });
      case 4:
        return viberInbound(time, user);
      case 5:
        return viberMessage(time, user, { messageType: flag ? "session" : "promotional", delivered: true });
      case 6:
        return viberBotInbound(time, user);
      case 7:
        return viberBotMessage(time, user);
      case 8:
        return answersMessage(time, user, flag ? "inbound" : "outbound");
      case 9:
        return answersSessionEnded(time, user);
      case 10:
        return momentsFlowEntered(time, user, flag ? "f1" : "f2");
      case 11:
        return conversationsUser(time, user, flag ? "added" : "removed");
      case 12:
        return messengerMessage(time, user, flag);
      case 13:
        return ev("voice.call", time, {
          callId: `c${n}`,
          service: "calls",
          direction: "outbound",
          country: "US",
          answered: flag,
          durationSeconds: n,
          amd: n % 2 === 0,
        });
      case 14:
        return ev("genai.interaction", time, { feature: "summary", units: (n % 3) + 1 });
      case 15:
        return ev(flag ? "resource.activated" : "resource.deactivated", time, {
          resourceId: `n${n % 3}`,
          resourceType: "number",
          numberType: "long",
          country: "US",
        });
      default:
        return ev("conversations.message", time, {
          conversationId: `c${n % 4}`,
          direction: flag ? "inbound" : "outbound",
        });
    }
  });

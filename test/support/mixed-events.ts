/** A fast-check generator of mixed usage events across products, around the July 2025 period. */
import fc from "fast-check";
import { ev } from "./events.js";

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
        return ev("whatsapp.inbound", time, { endUserId: user, senderId: "wa1" });
      case 3:
        return ev("whatsapp.message", time, {
          endUserId: user,
          senderId: "wa1",
          kind: flag ? "template" : "freeform",
          category: (["marketing", "utility", "authentication"] as const)[n % 3],
          delivered: n % 4 !== 0,
        });
      case 4:
        return ev("viber.inbound", time, { endUserId: user, serviceId: "svc-1" });
      case 5:
        return ev("viber.message", time, {
          endUserId: user,
          serviceId: "svc-1",
          messageType: flag ? "session" : "promotional",
          delivered: true,
        });
      case 6:
        return ev("viber_bot.inbound", time, { endUserId: user, botId: "b1" });
      case 7:
        return ev("viber_bot.message", time, { endUserId: user, botId: "b1", delivered: true });
      case 8:
        return ev("answers.message", time, {
          botId: "b1",
          endUserId: user,
          direction: flag ? "inbound" : "outbound",
        });
      case 9:
        return ev("answers.session_ended", time, { botId: "b1", endUserId: user, reason: "completed" });
      case 10:
        return ev("moments.flow_entered", time, { endUserId: user, flowId: flag ? "f1" : "f2" });
      case 11:
        return ev("conversations.user", time, { userId: user, action: flag ? "added" : "removed" });
      case 12:
        return ev("messenger.message", time, { endUserId: user, delivered: flag });
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

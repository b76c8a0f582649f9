/**
 * Ledger events of every family that carries state across a period edge (resources, Viber
 * sessions, Viber Bot CSW, WhatsApp windows and conversations, Answers sessions, USSD/Sangdam
 * session ids, named users, recordings across the edge, storage days, SIP trunk fair use) plus
 * per-event ones, dense around month edges: the generator of the carry-over and late-adjustment
 * property tests.
 */
import fc from "fast-check";
import { type PeriodId, periodWindow } from "../../shared/core/time.js";
import { ev } from "./events.js";
import {
  answersMessage,
  answersSessionEnded,
  conversationsUser,
  messengerMessage,
  momentsFlowEntered,
  viberBotInbound,
  viberBotMessage,
  viberInbound,
  viberMessage,
  whatsappInbound,
  whatsappMessage,
} from "./mixed-events.js";

export const MONTHS: PeriodId[] = ["2025-04", "2025-05", "2025-06", "2025-07", "2025-08"];
const HOUR = 3_600_000;
const users = ["u1", "u2"];

/** An event near a month edge (most of them) or anywhere in the five months, of any stateful family. */
export const eventArb = (tz: string, kinds: readonly number[], months: readonly PeriodId[] = MONTHS) =>
  fc
    .noBias(
      fc.record({
        kind: fc.constantFrom(...kinds),
        month: fc.integer({ min: 0, max: months.length - 1 }),
        nearEdge: fc.boolean(),
        hour: fc.integer({ min: 0, max: 30 * 24 - 1 }),
        edgeHour: fc.integer({ min: -40, max: 30 }),
        minute: fc.constantFrom(0, 0, 1, 30),
        user: fc.constantFrom(...users),
        flag: fc.boolean(),
        n: fc.integer({ min: 0, max: 200 }),
      }),
    )
    .map(({ kind, month, nearEdge, hour, edgeHour, minute, user, flag, n }) => {
      const start = periodWindow(months[month]!, tz).start;
      const t = (nearEdge ? start + edgeHour * HOUR : start + hour * HOUR) + minute * 60_000;
      const time = new Date(t).toISOString();
      const day = time.slice(0, 10);
      switch (kind) {
        case 0:
          return viberInbound(time, user);
        case 1:
        case 2:
          return viberMessage(time, user, {
            messageType: flag || n % 3 === 0 ? "session" : "promotional",
            delivered: n % 7 !== 0,
            blocked: n % 5 === 0,
          });
        case 3:
          return viberBotInbound(time, user);
        case 4:
          return viberBotMessage(time, user);
        case 5:
          return whatsappInbound(time, user);
        case 6:
        case 7:
          return whatsappMessage(time, user, {
            kind: flag ? "template" : "freeform",
            category: (["marketing", "utility", "authentication"] as const)[n % 3],
            delivered: n % 6 !== 0,
            blocked: n % 9 === 0,
          });
        case 8:
          return answersMessage(time, user, flag ? "inbound" : "outbound");
        case 9:
          return answersSessionEnded(time, user);
        case 10:
          return ev(flag ? "ussd.session" : "kakao.sangdam_session", time, {
            sessionId: `s${n % 4}`,
            country: "NG",
            initiatedBy: "account",
            endUserId: user,
          });
        case 11:
          return conversationsUser(time, user, flag ? "added" : "removed");
        case 12:
        case 13: {
          const type = (["number", "e911", "sip_trunk", "cnam", "byoc"] as const)[n % 5]!;
          return ev(n % 3 === 0 ? "resource.deactivated" : "resource.activated", time, {
            resourceId: type === "number" ? `num${n % 2}` : `${type}${n % 2}`,
            resourceType: type,
            numberType: "long",
            country: flag ? "US" : "DE",
            plan: flag ? "unlimited_us" : "metered",
            channels: (n % 4) + 1,
            numberResourceId: `num${n % 2}`,
          });
        }
        case 14:
        case 15: {
          const recorded = n % 2 === 0;
          return ev("voice.call", time, {
            callId: `c${n}`,
            service: flag ? "sip_trunk" : "calls",
            direction: n % 3 === 0 ? "inbound" : "outbound",
            country: "US",
            answered: n % 4 !== 0,
            durationSeconds: n * 30,
            trunkId: `sip_trunk${n % 2}`,
            fromResourceId: `num${n % 2}`,
            emergency: n % 11 === 0,
            ...(recorded
              ? {
                  recording: {
                    startedAt: time,
                    endedAt: new Date(t + ((n % 5) + 1) * 7 * HOUR).toISOString(),
                  },
                }
              : {}),
          });
        }
        case 16:
        case 17:
          return ev("recording.storage", time, {
            day: n % 3 === 0 ? new Date(t - 26 * HOUR).toISOString().slice(0, 10) : day,
            minutes: n + 1,
            gigabytes: 1,
          });
        case 18:
          return momentsFlowEntered(time, user, "f1");
        case 19:
          return ev("conversations.message", time, { conversationId: `c${n % 3}`, direction: "inbound" });
        case 20:
          return messengerMessage(time, user, flag);
        default:
          return ev("sms.mt", time, { to: user, country: "TR", status: "submitted" });
      }
    });

export const FAMILIES = [
  [0, 1, 2],
  [3, 4],
  [5, 6, 7],
  [8, 9],
  [10],
  [11],
  [12, 13, 14, 15],
  [16, 17],
  [18, 19, 20, 21, 22],
];
/** A history of one or two families at a time, so that each one is dense around the edges. */
export const historyArb = (tz: string) =>
  fc
    .subarray(FAMILIES, { minLength: 1, maxLength: 2 })
    .chain((fs) => fc.array(eventArb(tz, fs.flat()), { minLength: 1, maxLength: 100 }));

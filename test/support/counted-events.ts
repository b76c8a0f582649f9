/** A fast-check generator of counted usage events around the July 2025 period (counters.ts). */
import fc from "fast-check";
import { ev } from "./events.js";

/** Counted events of the kinds the mixed generator lacks (e-mail, Kakao, exports, conferences, GEN AI models). */
export const countedEventArb = fc
  .record({ hour: fc.integer({ min: 0, max: 24 * 33 }), k: fc.integer({ min: 0, max: 4 }), n: fc.nat(20) })
  .map(({ hour, k, n }) => {
    const time = new Date(Date.parse("2025-06-30T20:00:00Z") + hour * 3_600_000).toISOString();
    switch (k) {
      case 0:
        return ev("email.message", time, {
          to: "x",
          status: n % 3 ? "submitted" : "suppressed",
          blocked: n === 4,
        });
      case 1:
        return ev("kakao.message", time, { endUserId: "u", product: "alimtalk", delivered: n % 2 === 0 });
      case 2:
        return ev("recording.exported", time, { recordingId: `r${n}` });
      case 3:
        return ev("voice.conference", time, {
          conferenceId: `k${n}`,
          participants: ["a", "b", "c"].map((p, i) => ({
            participantId: p,
            joinedAt: time,
            leftAt: new Date(Date.parse(time) + (n + i + 1) * 50_000).toISOString(),
          })),
        });
      default:
        return ev("genai.interaction", time, {
          feature: "summary",
          model: n % 2 ? "m1" : "m2",
          units: n / 4 + 0.25,
        });
    }
  });

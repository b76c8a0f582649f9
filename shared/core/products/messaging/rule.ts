/**
 * Per-message and active-user channels (rating-rules §3 table, G1, G2): SMS, MMS, RCS, number
 * lookup, e-mail, e-mail validation, USSD, push, Messenger/Telegram/Google BM/Apple BC, LINE,
 * Zalo and Kakao.
 */

import { compositeKey } from "../../keys.js";
import { dec, ONE } from "../../money.js";
import type { Charge, Dimensions, LedgerEvent, LedgerEventOf, ProductRule } from "../../rating/types.js";
import { dims, eventsOfType, inPeriod, refOf } from "../../rating/types.js";
import { DAY } from "../../time.js";
import type { ProductCode } from "../registered.js";

/** Turns one event into a per-event charge, or a blocked (G2) informational charge. */
function perEvent(
  e: LedgerEvent,
  product: ProductCode,
  dimensions: Dimensions,
  blocked: boolean | undefined,
  out: { charges: Charge[]; blocked: Charge[] },
) {
  const charge: Charge = { product, dimensions, quantity: ONE, pricedAt: e.t, ref: refOf(e) };
  (blocked ? out.blocked : out.charges).push(charge);
}

/** SMS/MMS/RCS, lookup, e-mail, validation, push, LINE, Zalo, Kakao: one charge per successful event. */
export const rateMessages: ProductRule = ({ period, events }) => {
  const out = { charges: [] as Charge[], blocked: [] as Charge[] };
  for (const e of events) {
    if (!inPeriod(e.t, period)) continue;
    switch (e.type) {
      case "sms.mt":
      case "mms.mt":
        // G1: only a successful submission is charged.
        if (e.data.status === "submitted")
          perEvent(
            e,
            e.type,
            dims({ country: e.data.country, network: e.data.network }),
            e.data.blocked,
            out,
          );
        break;
      case "rcs.mt":
        // §3: RCS MT is charged when delivered to the end user.
        if (e.data.status === "submitted" && e.data.delivered)
          perEvent(
            e,
            "rcs.mt",
            dims({ country: e.data.country, network: e.data.network }),
            e.data.blocked,
            out,
          );
        break;
      case "sms.mo":
      case "mms.mo":
      case "rcs.mo":
        if (e.data.status === "accepted")
          perEvent(e, e.type, dims({ country: e.data.country, network: e.data.network }), false, out);
        break;
      case "number_lookup.request":
        if (e.data.status === "sent") perEvent(e, e.type, dims({ country: e.data.country }), false, out);
        break;
      case "email.message":
        // §3: a message to a block-listed address is not sent but is charged (suppressed).
        if (e.data.status === "submitted" || e.data.status === "suppressed")
          perEvent(e, "email.message", {}, e.data.blocked, out);
        break;
      case "email.validation":
        if (e.data.status === "submitted") perEvent(e, "email.validation", {}, false, out);
        break;
      case "push.notification":
        // §3 (policy): a successfully submitted push notification.
        if (e.data.status === "submitted")
          perEvent(e, "push.notification", dims({ platform: e.data.platform }), false, out);
        break;
      case "line.message":
      case "zalo.message":
        if (e.data.delivered) perEvent(e, e.type, {}, e.data.blocked, out);
        break;
      case "kakao.message":
        if (e.data.delivered) perEvent(e, `kakao.${e.data.product}`, {}, e.data.blocked, out);
        break;
      default:
        break;
    }
  }
  return out;
};

/**
 * USSD sessions and Kakao Sangdam consultation sessions: one charge per distinct session id,
 * in the period of its first event (policy: a session reported twice under two event ids is one session).
 * A session id whose previous event is SESSION_ID_REUSE_GAP or more earlier starts a new session
 * (policy: ids may be recycled, and a close then remembers session ids for a bounded time).
 */
export const SESSION_ID_REUSE_GAP = 7 * DAY;

/** Map key of a USSD/Sangdam session id. */
export const sessionKeyOf = (e: LedgerEventOf<"ussd.session" | "kakao.sangdam_session">) =>
  compositeKey(e.type, e.data.sessionId);

export const rateSessions: ProductRule = ({ period, events }) => {
  const charges: Charge[] = [];
  const lastSeen = new Map<string, number>();
  for (const e of eventsOfType(events, "ussd.session", "kakao.sangdam_session")) {
    const key = sessionKeyOf(e);
    const last = lastSeen.get(key);
    lastSeen.set(key, e.t);
    if (last !== undefined && e.t - last < SESSION_ID_REUSE_GAP) continue;
    if (!inPeriod(e.t, period)) continue;
    const dimensions = e.type === "ussd.session" ? dims({ country: e.data.country }) : {};
    charges.push({ product: e.type, dimensions, quantity: ONE, pricedAt: e.t, ref: refOf(e) });
  }
  return { charges };
};

const activeUserProducts = {
  "messenger.message": "messenger.active_user",
  "telegram.message": "telegram.active_user",
  "google_bm.message": "google_bm.active_user",
  "apple_bc.message": "apple_bc.active_user",
} as const satisfies Record<string, ProductCode>;

/**
 * Messenger, Telegram, Google Business Messages, Apple Business Chat: distinct end users with at
 * least one delivered message in the period (§3). G2: blocked messages count for nothing; end
 * users reached only by blocked messages are reported as informational (policy).
 */
export const rateActiveUsers: ProductRule = ({ period, events }) => {
  const charges: Charge[] = [];
  const blocked: Charge[] = [];
  for (const [type, product] of Object.entries(activeUserProducts)) {
    const active = new Set<string>();
    const blockedOnly = new Set<string>();
    for (const e of eventsOfType(events, type as keyof typeof activeUserProducts)) {
      if (!inPeriod(e.t, period) || !e.data.delivered) continue;
      if (e.data.blocked) blockedOnly.add(e.data.endUserId);
      else active.add(e.data.endUserId);
    }
    for (const u of active) blockedOnly.delete(u);
    const ref = `${product} distinct end users ${period.id}`;
    if (active.size > 0)
      charges.push({ product, dimensions: {}, quantity: dec(active.size), pricedAt: period.start, ref });
    if (blockedOnly.size > 0)
      blocked.push({ product, dimensions: {}, quantity: dec(blockedOnly.size), pricedAt: period.start, ref });
  }
  return { charges, blocked };
};

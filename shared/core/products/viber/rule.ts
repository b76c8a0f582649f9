/**
 * Viber business messages (rating-rules §3.1) and Viber Bot (§3.2), with G2, G12, G13.
 * Both rules replay the account's whole history (windows and sessions carry over from earlier
 * periods, G12) and emit only the charges of `input.period`.
 */

import { compositeKey } from "../../keys.js";
import { ONE } from "../../money.js";
import {
  type Charge,
  eventsOfType,
  inPeriod,
  type LedgerEvent,
  type ProductRule,
  refOf,
} from "../../rating/types.js";
import { DAY } from "../../time.js";

/** §3.1: a session covers at most this many delivered session-type messages. */
export const VIBER_SESSION_MESSAGES = 60;
/** §3.1 session length and §3.2 CSW length; both half-open [start, start + 24 h) (G12). */
export const VIBER_SESSION_LENGTH = DAY;
const WINDOW = VIBER_SESSION_LENGTH;

interface ViberSession {
  readonly opener: LedgerEvent;
  readonly start: number;
  /** Delivered, unblocked session-type messages taken by the session so far (≤ 60). */
  covered: number;
  /** G2: a blocked message already reported as the one that would have made the session chargeable. */
  blockedReported: boolean;
}

/**
 * §3.1 `viber.message` (by `messageType`) and `viber.session`. Every charge carries
 * `commitmentServiceId` so that pricing can compute the per-sender minimum commitment true-up.
 *
 * Session charge (§3.1, G12, G8, G7): a session is one `viber.session` charge once at least one
 * session-type message was delivered in it. The charge belongs to the period of the inbound that
 * opened the session and is priced at that inbound's time, even when the first session message
 * falls in the next period: the rule then sees it among `following` (the events up to 24 h after
 * the period's end). When the opener's period was closed before that message arrived, ingestion
 * marks the period late and the next close bills the session as its adjustment.
 *
 * G2 (policy): a blocked message is counted in nothing (it takes no session slot and does not make
 * a session chargeable); it is reported with what it would have been charged against the sessions
 * opened by real traffic: a stand-alone `viber.message` of its type (in its own period), nothing
 * when an open session with room would have covered it, or `viber.session` (in the opener's
 * period, priced at the opener's time, once per session) when it would have been the first
 * message of such a session.
 */
export const rateViber: ProductRule = ({ period, events, following = [] }) => {
  const charges: Charge[] = [];
  const blocked: Charge[] = [];
  const sessions = new Map<string, ViberSession>();
  /** §3.1: senders with at least one delivered (not blocked) message in the period. */
  const activeSenders = new Set<string>();
  const openSession = (key: string, t: number): ViberSession | undefined => {
    const s = sessions.get(key);
    return s && t < s.start + WINDOW ? s : undefined;
  };

  // `following` only completes sessions opened in the period: nothing after the end is charged
  // in its own right (every other charge below requires its event to be in the period).
  for (const e of eventsOfType([...events, ...following], "viber.inbound", "viber.message")) {
    const key = compositeKey(e.data.serviceId, e.data.endUserId);
    if (e.type === "viber.inbound") {
      // §3.1: an end-user inbound opens a fixed 24 h session when none is open; later inbounds
      // inside it neither extend it nor open another.
      if (!openSession(key, e.t))
        sessions.set(key, { opener: e, start: e.t, covered: 0, blockedReported: false });
      continue;
    }
    // G1: charged per delivered message; an undelivered one counts for nothing.
    if (!e.data.delivered) continue;
    const here = inPeriod(e.t, period);
    const serviceId = e.data.serviceId;
    // G2: blocked traffic counts towards nothing, the commitment included, so only real charges carry the sender.
    const message = (): Charge => ({
      product: "viber.message",
      dimensions: { messageType: e.data.messageType },
      quantity: ONE,
      pricedAt: e.t,
      ref: refOf(e),
    });
    const session = e.data.messageType === "session" ? openSession(key, e.t) : undefined;
    const room = session !== undefined && session.covered < VIBER_SESSION_MESSAGES;

    if (e.data.blocked) {
      if (!room) {
        if (here) blocked.push(message());
      } else if (session.covered === 0 && !session.blockedReported) {
        session.blockedReported = true;
        if (inPeriod(session.start, period))
          blocked.push({
            product: "viber.session",
            dimensions: {},
            quantity: ONE,
            pricedAt: session.start,
            ref: refOf(session.opener),
          });
      }
      continue;
    }

    if (here) activeSenders.add(serviceId);
    if (room) {
      session.covered += 1;
      // Charged once, with its first delivered session message, in the opener's period (above).
      if (session.covered === 1 && inPeriod(session.start, period))
        charges.push({
          product: "viber.session",
          dimensions: {},
          quantity: ONE,
          pricedAt: session.start,
          ref: refOf(session.opener),
          commitmentServiceId: serviceId,
        });
      continue;
    }
    // §3.1 (policy): transactional/promotional always; session-type beyond the 60th or with no
    // open session as `viber.message` of type `session`.
    if (here) charges.push({ ...message(), commitmentServiceId: serviceId });
  }
  return { charges, blocked, commitmentSenders: [...activeSenders].sort() };
};

/**
 * §3.2 `viber_bot.message`: each delivered bot message outside the CSW, which is 24 h from the end
 * user's latest `viber_bot.inbound` to that bot. Inside the CSW it is free and gives no charge.
 * G2: a blocked message outside the CSW is informational; inside it would have been free, so
 * nothing. Outbound messages never open or extend the CSW.
 */
export const rateViberBot: ProductRule = ({ period, events }) => {
  const charges: Charge[] = [];
  const blocked: Charge[] = [];
  const latestInbound = new Map<string, number>();
  for (const e of eventsOfType(events, "viber_bot.inbound", "viber_bot.message")) {
    const key = compositeKey(e.data.botId, e.data.endUserId);
    if (e.type === "viber_bot.inbound") {
      latestInbound.set(key, e.t);
      continue;
    }
    if (!e.data.delivered || !inPeriod(e.t, period)) continue;
    const last = latestInbound.get(key);
    // G12: half-open, a message at exactly +24 h is outside the CSW.
    if (last !== undefined && e.t < last + WINDOW) continue;
    const charge: Charge = {
      product: "viber_bot.message",
      dimensions: {},
      quantity: ONE,
      pricedAt: e.t,
      ref: refOf(e),
    };
    (e.data.blocked ? blocked : charges).push(charge);
  }
  return { charges, blocked };
};

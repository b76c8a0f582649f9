/** The state the Viber rules carry across a period start (rating/carry.ts). */
import { compositeKey } from "../../keys.js";
import type { Carrier } from "../../rating/carried-state.js";
import type { LedgerEvent } from "../../rating/types.js";
import { eventsOfType } from "../../rating/types.js";
import { VIBER_SESSION_LENGTH, VIBER_SESSION_MESSAGES } from "./rule.js";

/** §3.1: each Viber session open at S, its opener and the messages it covered. */
export const carryViberSessions: Carrier = ({ all, start, add }) => {
  keepViber(all, start, add);
  return undefined;
};

/** §3.2: the latest inbound of each (bot, user) whose CSW is open at S. */
export const carryViberBotWindows: Carrier = ({ all, start, add }) => {
  keepViberBot(all, start, add);
  return undefined;
};

function keepViber(all: readonly LedgerEvent[], start: number, add: (e: LedgerEvent | undefined) => void) {
  interface Session {
    readonly opener: LedgerEvent;
    /** Messages the session covered: they count towards its 60 (a blocked one matters only in its own period). */
    readonly covered: LedgerEvent[];
  }
  const sessions = new Map<string, Session>();
  const openAt = (key: string, t: number) => {
    const s = sessions.get(key);
    return s && t < s.opener.t + VIBER_SESSION_LENGTH ? s : undefined;
  };
  for (const e of eventsOfType(all, "viber.inbound", "viber.message")) {
    const key = compositeKey(e.data.serviceId, e.data.endUserId);
    if (e.type === "viber.inbound") {
      if (!openAt(key, e.t)) sessions.set(key, { opener: e, covered: [] });
      continue;
    }
    if (!e.data.delivered || e.data.messageType !== "session") continue;
    const s = openAt(key, e.t);
    if (s && !e.data.blocked && s.covered.length < VIBER_SESSION_MESSAGES) s.covered.push(e);
  }
  for (const s of sessions.values()) {
    if (s.opener.t + VIBER_SESSION_LENGTH <= start) continue;
    add(s.opener);
    for (const e of s.covered) add(e);
  }
}

function keepViberBot(all: readonly LedgerEvent[], start: number, add: (e: LedgerEvent | undefined) => void) {
  const latest = new Map<string, LedgerEvent>();
  for (const e of eventsOfType(all, "viber_bot.inbound"))
    latest.set(compositeKey(e.data.botId, e.data.endUserId), e);
  for (const e of latest.values()) if (e.t + VIBER_SESSION_LENGTH > start) add(e);
}

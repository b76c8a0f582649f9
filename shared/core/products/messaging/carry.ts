/** The state the messaging rules carry across a period start (sessions, rating/carry.ts). */
import type { Carrier } from "../../rating/carried-state.js";
import type { LedgerEvent } from "../../rating/types.js";
import { eventsOfType } from "../../rating/types.js";
import { SESSION_ID_REUSE_GAP, sessionKeyOf } from "./rule.js";

/** USSD / Sangdam: the last event of each session id seen in the SESSION_ID_REUSE_GAP before S. */
export const carrySessionIds: Carrier = ({ all, start, add }) => {
  keepSessions(all, start, add);
  return undefined;
};

function keepSessions(all: readonly LedgerEvent[], start: number, add: (e: LedgerEvent | undefined) => void) {
  const last = new Map<string, LedgerEvent>();
  for (const e of eventsOfType(all, "ussd.session", "kakao.sangdam_session")) last.set(sessionKeyOf(e), e);
  for (const e of last.values()) if (start - e.t < SESSION_ID_REUSE_GAP) add(e);
}

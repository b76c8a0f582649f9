/** The state the SaaS rules carry across a period start (rating/carry.ts). */
import { compareStrings } from "../../compare.js";
import type { Carrier } from "../../rating/carried-state.js";
import type { LedgerEvent, LedgerEventOf } from "../../rating/types.js";
import { eventsOfType } from "../../rating/types.js";
import { MINUTE } from "../../time.js";
import { replayAnswers } from "./rule.js";

/** §2.1: the longest Answers session timeout (accounts.ts); sessions are carried this long. */
const ANSWERS_MAX_TIMEOUT = 1_440 * MINUTE;

/** Conversations named users: the last `added` of each user provisioned at S. */
export const carryNamedUsers: Carrier = ({ all, add }) => {
  keepNamedUsers(all, add);
  return undefined;
};

/** §2.1 the Answers sessions open at S (last message instant). */
export const carryAnswersSessions: Carrier = ({ account, all, start, previousPeriod, previous }) => {
  const answers = replayAnswers(
    account,
    previousPeriod,
    all.filter((e) => !previous || e.t >= previousPeriod.start),
    previous?.answersSessions,
  );
  return {
    answersSessions: [...answers.open]
      .filter(([, last]) => last + ANSWERS_MAX_TIMEOUT > start)
      .sort(([a], [b]) => compareStrings(a, b)),
  };
};

function keepNamedUsers(all: readonly LedgerEvent[], add: (e: LedgerEvent | undefined) => void) {
  const last = new Map<string, LedgerEventOf<"conversations.user">>();
  for (const e of eventsOfType(all, "conversations.user")) last.set(e.data.userId, e);
  for (const e of last.values()) if (e.data.action === "added") add(e);
}

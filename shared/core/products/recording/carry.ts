/** The state the recording rule carries across a period start (rating/carry.ts). */
import { instantOf } from "../../../contract/common.js";
import type { Carrier } from "../../rating/carried-state.js";
import type { LedgerEvent, LedgerEventOf } from "../../rating/types.js";
import { eventsOfType } from "../../rating/types.js";
import type { PeriodId } from "../../time.js";

/** §5 recording licences: calls whose recording runs across S. */
export const carryRecordingsAcross: Carrier = ({ all, start, add }) => {
  for (const c of eventsOfType(all, "voice.call")) {
    const r = c.data.recording;
    if (r && instantOf(r.endedAt) > start && instantOf(r.endedAt) > instantOf(r.startedAt)) add(c);
  }
  return undefined;
};

/** §5 storage: the latest report of each day of P or later, and the days of earlier periods settled. */
export const carryStorageDays: Carrier = ({ all, periodId, previous, add }) => ({
  storageDaysSettled: keepStorage(all, periodId, previous?.storageDaysSettled ?? [], add),
});

/** §5 storage (rule.ts storageDaysOf): returns the settled days, keeps the reports still needed. */
function keepStorage(
  all: readonly LedgerEvent[],
  periodId: PeriodId,
  settledBefore: readonly string[],
  add: (e: LedgerEvent | undefined) => void,
): string[] {
  const settled = new Set(settledBefore);
  const latest = new Map<string, LedgerEventOf<"recording.storage">>();
  for (const e of eventsOfType(all, "recording.storage")) {
    const day = e.data.day;
    if (day.slice(0, 7) < periodId) {
      settled.add(day); // reported before the period: charged in an earlier one, never again
      continue;
    }
    const cur = latest.get(day);
    if (!cur || later(e, cur)) latest.set(day, e);
  }
  for (const e of latest.values()) add(e);
  return [...settled].sort();
}

/** rule.ts: the greatest `time`, then `id`, then `source` wins. */
const later = (a: LedgerEvent, b: LedgerEvent): boolean =>
  a.t !== b.t ? a.t > b.t : a.id !== b.id ? a.id > b.id : a.source > b.source;

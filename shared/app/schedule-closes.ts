/**
 * The close scheduler (decisions D15): every hour, for each time zone some account uses, find the
 * latest period that ended there at least the grace ago (close-schedule.ts) and put one close
 * request per account of that zone on the close queue. It never reads all accounts: it lists only
 * the due zones' accounts, a page at a time, from the zone index. A cursor per zone remembers how
 * far it got, so a re-run enqueues nothing again once a zone's period is done, and a crashed run
 * resumes after the last page it recorded (a page sent but not recorded is sent again: the close
 * is idempotent, so a second request for an account-period finds it closed).
 */
import { dueZones } from "../core/close-schedule.js";
import { type PeriodId, shiftPeriod } from "../core/time.js";
import type { Clock } from "../ports/clock.js";
import type { CloseQueue, CloseScheduleStore } from "../ports/close-queue.js";

export interface ScheduleClosesDeps {
  readonly schedule: CloseScheduleStore;
  readonly queue: CloseQueue;
  readonly clock: Clock;
  /** Hours after a period's end in the account's zone before its close starts (0–240). */
  readonly graceHours: number;
}

export interface ZoneFanOut {
  readonly zone: string;
  readonly period: PeriodId;
  readonly enqueued: number;
}

/** Accounts listed (and requests sent) per page; the cursor is saved after each page. */
export const SCHEDULE_PAGE = 100;
/** At most this many periods are caught up per zone and run (a scheduler down for months). */
const MAX_CATCH_UP = 12;

export async function scheduleCloses(deps: ScheduleClosesDeps): Promise<ZoneFanOut[]> {
  const zones = await deps.schedule.zones();
  const out: ZoneFanOut[] = [];
  for (const due of dueZones(deps.clock.now(), zones, deps.graceHours)) {
    const cursor = await deps.schedule.cursor(due.zone);
    if (cursor && cursor.period > due.period) continue; // closed by hand ahead: nothing due here
    if (cursor?.done && cursor.period === due.period) continue;
    // First sight of a zone: its latest due period only. Else each period after the last done one.
    let period = !cursor ? due.period : cursor.done ? shiftPeriod(cursor.period, 1) : cursor.period;
    const oldest = shiftPeriod(due.period, -(MAX_CATCH_UP - 1));
    if (period < oldest) period = oldest;
    let after = cursor && !cursor.done && cursor.period === period ? cursor.after : undefined;
    for (; period <= due.period; period = shiftPeriod(period, 1), after = undefined) {
      let enqueued = 0;
      for (;;) {
        const page = await deps.schedule.accountsInZone(due.zone, {
          limit: SCHEDULE_PAGE,
          ...(after !== undefined ? { after } : {}),
        });
        await deps.queue.enqueue(page.accountIds.map((accountId) => ({ accountId, period })));
        enqueued += page.accountIds.length;
        after = page.accountIds.at(-1) ?? after;
        if (page.next === undefined) break;
        await deps.schedule.saveCursor(due.zone, {
          period,
          done: false,
          ...(after !== undefined ? { after } : {}),
        });
      }
      await deps.schedule.saveCursor(due.zone, { period, done: true });
      out.push({ zone: due.zone, period, enqueued });
    }
  }
  return out;
}

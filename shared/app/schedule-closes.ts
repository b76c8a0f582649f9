/**
 * The close scheduler: every hour, for each time zone some account uses, find the
 * latest period that ended there at least the grace ago (close-schedule.ts) and put one close
 * request per account of that zone on the close queue. It never reads all accounts: it lists only
 * the due zones' accounts, a page at a time, from the zone index. A cursor per zone remembers how
 * far it got, so a re-run enqueues nothing again once a zone's period is done, and a crashed run
 * resumes after the last page it recorded (a page sent but not recorded is sent again: the close
 * is idempotent, so a second request for an account-period finds it closed).
 */
import { dueZones } from "../core/close-schedule.js";
import { HOUR, type PeriodId, periodOf, shiftPeriod } from "../core/time.js";
import type { Clock } from "../ports/clock.js";
import type { CloseQueue, CloseRequest, CloseScheduleStore } from "../ports/close-queue.js";
import type { UnclosedUsageIndex } from "../ports/unclosed-usage.js";

export interface ScheduleClosesDeps {
  readonly schedule: CloseScheduleStore;
  readonly queue: CloseQueue;
  readonly clock: Clock;
  /** Hours after a period's end in the account's zone before its close starts (0–240). */
  readonly graceHours: number;
  /** Accounts with usage not closed yet (shared/ports/unclosed-usage.ts): closed whatever the configuration. */
  readonly unclosed?: UnclosedUsageIndex;
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

/** What the unclosed-usage pass of a run did: requests sent, and accounts with usage overdue. */
export interface UnclosedUsageRun {
  readonly enqueued: number;
  /** Accounts with usage in a period not closed `overdueHours` after its end plus the grace. */
  readonly overdue: number;
  readonly suspended: number;
}

/**
 * The accounts with usage in an ended period that are still not closed, from the usage index (not
 * the configuration): a removed account, one added after its zone's fan-out or moved to another
 * zone, a close request suspended for want of configuration. Each is requested once its period's end
 * plus the grace is an hour past (the zone fan-out has had its hour: no double request for a
 * configured account), and again every hour until it is closed; those still not closed
 * `overdueHours` after end plus grace are counted overdue (the CloseOverdue alarm). Reads 16 small
 * Queries for each of the last MAX_CATCH_UP + 1 months, bounded by the accounts not yet closed.
 */
export async function scheduleUnclosedUsage(
  deps: ScheduleClosesDeps,
  overdueHours: number,
): Promise<UnclosedUsageRun> {
  if (!deps.unclosed) return { enqueued: 0, overdue: 0, suspended: 0 };
  const now = deps.clock.now();
  const grace = deps.graceHours * HOUR;
  let enqueued = 0;
  let overdue = 0;
  let suspended = 0;
  // UTC+14 is the earliest zone: no period after its current one has ended anywhere.
  const latest = periodOf(now, "Etc/GMT-14");
  for (let i = MAX_CATCH_UP; i >= 0; i--) {
    const period = shiftPeriod(latest, -i);
    const due: CloseRequest[] = [];
    for (const u of await deps.unclosed.unclosedUsage(period)) {
      if (u.end + grace + HOUR > now) continue;
      due.push({ accountId: u.accountId, period: u.period });
      if (u.end + grace + overdueHours * HOUR <= now) overdue += 1;
      if (u.suspended) suspended += 1;
    }
    for (let k = 0; k < due.length; k += SCHEDULE_PAGE)
      await deps.queue.enqueue(due.slice(k, k + SCHEDULE_PAGE));
    enqueued += due.length;
  }
  return { enqueued, overdue, suspended };
}

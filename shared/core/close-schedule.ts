/**
 * When each account's period may be closed (rating-rules G3): a period ends at
 * midnight on the first of the next month in the account's own time zone, so a UTC+14 account's
 * month ends 26 hours before a UTC−12 one's. A close starts `graceHours` after that end, for late
 * usage still in flight. Pure: no clock, no storage.
 */
import { HOUR, type PeriodId, periodOf, periodWindow, shiftPeriod } from "./time.js";

/** Default grace after a period's end before its close starts (CLOSE_GRACE_HOURS). */
export const DEFAULT_CLOSE_GRACE_HOURS = 2;
/** Upper bound of the grace: ten days (a longer one would overlap the next month's close). */
export const MAX_CLOSE_GRACE_HOURS = 240;
/** A period not closed this long after its end plus the grace (in the account's zone) is overdue (alarmed). */
export const DEFAULT_CLOSE_OVERDUE_HOURS = 6;

export interface DueZone {
  readonly zone: string;
  /** The latest period of the zone whose end plus the grace is at or before `now`. */
  readonly period: PeriodId;
  /** The period's end in the zone plus the grace (epoch ms). */
  readonly dueAt: number;
}

/**
 * For each zone, the latest period that is due at `now`: ended in that zone at least `graceHours`
 * ago. Every zone has one (the month before the current one at the latest); the scheduler compares
 * it with what it already enqueued.
 */
export function dueZones(now: number, zones: readonly string[], graceHours: number): DueZone[] {
  if (!Number.isInteger(graceHours) || graceHours < 0 || graceHours > MAX_CLOSE_GRACE_HOURS)
    throw new RangeError(
      `grace must be a whole number of hours in 0..${MAX_CLOSE_GRACE_HOURS}: ${graceHours}`,
    );
  const grace = graceHours * HOUR;
  return [...new Set(zones)].sort().map((zone) => {
    // The period holding (now − grace) has not ended early enough; the one before it has.
    const period = shiftPeriod(periodOf(now - grace, zone), -1);
    return { zone, period, dueAt: periodWindow(period, zone).end + grace };
  });
}

/** Whether the period is due in the zone at `now` (its end in the zone plus the grace has passed). */
export function isDue(now: number, zone: string, period: PeriodId, graceHours: number): boolean {
  return periodWindow(period, zone).end + graceHours * HOUR <= now;
}

/**
 * Accounts a scheduler run enqueued for a period that ended in their zone more than `overdueHours`
 * ago: their close is late (a scheduler down or failing for hours). Only what the
 * run itself listed is counted, so the figure costs no read.
 */
export function overdueAccounts(
  now: number,
  fanOuts: readonly { readonly zone: string; readonly period: PeriodId; readonly enqueued: number }[],
  overdueHours: number,
): number {
  return fanOuts
    .filter((f) => periodWindow(f.period, f.zone).end + overdueHours * HOUR <= now)
    .reduce((n, f) => n + f.enqueued, 0);
}

/**
 * Billing periods are calendar months in the account's time zone (rating-rules G3).
 * Instants are epoch milliseconds (UTC); conversions use Intl so that DST is handled by ICU.
 */
export type PeriodId = string; // "YYYY-MM"

export interface PeriodWindow {
  readonly id: PeriodId;
  readonly timezone: string;
  /** First instant of the period, inclusive. */
  readonly start: number;
  /** First instant of the next period, exclusive. */
  readonly end: number;
}

const partsCache = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = partsCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    partsCache.set(tz, f);
  }
  return f;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function localParts(t: number, tz: string): LocalParts {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(t))) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  return {
    year: p.year ?? 0,
    month: p.month ?? 0,
    day: p.day ?? 0,
    hour: p.hour ?? 0,
    minute: p.minute ?? 0,
    second: p.second ?? 0,
  };
}

/** Offset (ms) of the zone from UTC at instant t. */
function offsetAt(t: number, tz: string): number {
  const p = localParts(t, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

/** The first UTC instant whose local wall-clock time in tz is at or after the given local time. */
export function zonedToUtc(year: number, month: number, day: number, tz: string): number {
  const wall = Date.UTC(year, month - 1, day);
  let t = wall - offsetAt(wall, tz);
  t = wall - offsetAt(t, tz);
  return t;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

export const periodOf = (t: number, tz: string): PeriodId => {
  const p = localParts(t, tz);
  return `${pad(p.year, 4)}-${pad(p.month)}`;
};

/** A period id as it is written everywhere (YYYY-MM, month 01 to 12). */
const PERIOD_ID = /^(\d{4})-(0[1-9]|1[0-2])$/;
export const isPeriodId = (s: string): boolean => PERIOD_ID.test(s);

export function parsePeriod(id: PeriodId): { year: number; month: number } {
  const m = PERIOD_ID.exec(id);
  if (!m) throw new RangeError(`not a period (YYYY-MM): ${id}`);
  return { year: Number(m[1]), month: Number(m[2]) };
}

export function shiftPeriod(id: PeriodId, months: number): PeriodId {
  const { year, month } = parsePeriod(id);
  const idx = year * 12 + (month - 1) + months;
  return `${pad(Math.floor(idx / 12), 4)}-${pad((idx % 12) + 1)}`;
}

export function periodWindow(id: PeriodId, tz: string): PeriodWindow {
  const { year, month } = parsePeriod(id);
  const next = parsePeriod(shiftPeriod(id, 1));
  return {
    id,
    timezone: tz,
    start: zonedToUtc(year, month, 1, tz),
    end: zonedToUtc(next.year, next.month, 1, tz),
  };
}

export const daysInPeriod = (id: PeriodId): number => {
  const { year, month } = parsePeriod(id);
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
};

/** Units of time in milliseconds (instants are epoch milliseconds throughout). */
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

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

/**
 * A time-zone *schedule*: the zone of an account whose configuration changed zone, written
 * `ZONE|YYYY-MM:ZONE|…` (the first zone, then each period from which another one applies). IANA
 * names never hold `|` or `:`, so a plain zone is a schedule of one. Each period starts at its first
 * instant in its own zone and ends where the next one starts, so a change of zone leaves no gap and
 * no overlap between the last period of the old zone and the first of the new one (that period is
 * longer or shorter by the difference of the offsets).
 */
interface ZoneSchedule {
  readonly first: string;
  /** Ascending by period. */
  readonly changes: readonly { readonly from: PeriodId; readonly zone: string }[];
}
const schedules = new Map<string, ZoneSchedule>();
function scheduleOf(tz: string): ZoneSchedule | undefined {
  if (!tz.includes("|")) return undefined;
  let s = schedules.get(tz);
  if (!s) {
    const [first, ...rest] = tz.split("|");
    s = {
      first: first ?? "UTC",
      changes: rest.map((c) => {
        const i = c.indexOf(":");
        return { from: c.slice(0, i), zone: c.slice(i + 1) };
      }),
    };
    schedules.set(tz, s);
  }
  return s;
}

/** The zone a schedule (or a plain zone) applies to the period. */
export function zoneOfPeriod(tz: string, id: PeriodId): string {
  const s = scheduleOf(tz);
  if (!s) return tz;
  let zone = s.first;
  for (const c of s.changes) if (c.from <= id) zone = c.zone;
  return zone;
}

/** Writes a schedule: the first zone, then each (period, zone) change; a plain zone when none. */
export function zoneSchedule(first: string, changes: readonly { from: PeriodId; zone: string }[]): string {
  return [first, ...changes.map((c) => `${c.from}:${c.zone}`)].join("|");
}

export const periodOf = (t: number, tz: string): PeriodId => {
  const s = scheduleOf(tz);
  if (s) {
    // Periods of a schedule are contiguous: the one around t in any of its zones, by window.
    const candidates = new Set<PeriodId>();
    for (const zone of [s.first, ...s.changes.map((c) => c.zone)]) {
      const p = periodOf(t, zone);
      candidates.add(shiftPeriod(p, -1)).add(p).add(shiftPeriod(p, 1));
    }
    for (const p of [...candidates].sort()) {
      const w = periodWindow(p, tz);
      if (t >= w.start && t < w.end) return p;
    }
    throw new RangeError(`no period of ${tz} holds ${t}`);
  }
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

/** Windows of schedules, memoised: periodOf on a schedule tries several (bounded memory). */
const scheduleWindows = new Map<string, PeriodWindow>();

export function periodWindow(id: PeriodId, tz: string): PeriodWindow {
  if (scheduleOf(tz)) {
    const key = `${tz}\u0000${id}`;
    let w = scheduleWindows.get(key);
    if (!w) {
      if (scheduleWindows.size >= 10_000) scheduleWindows.clear();
      w = windowOf(id, tz);
      scheduleWindows.set(key, w);
    }
    return w;
  }
  return windowOf(id, tz);
}

function windowOf(id: PeriodId, tz: string): PeriodWindow {
  const { year, month } = parsePeriod(id);
  const nextId = shiftPeriod(id, 1);
  const next = parsePeriod(nextId);
  return {
    id,
    timezone: tz,
    start: zonedToUtc(year, month, 1, zoneOfPeriod(tz, id)),
    end: zonedToUtc(next.year, next.month, 1, zoneOfPeriod(tz, nextId)),
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

/**
 * Versions of an account's configuration (contract §2): each accounts-file load that changes an
 * account is a new version, in force from the load's time; a load that omits it *ends* it. Pure:
 * which version rates a period, the account's zone schedule across versions, and whether an
 * event's time falls after the account's end.
 *
 * A period is rated with the version in force at its first instant. With a change of time zone the
 * first instant itself depends on the zone, so a version takes over a period only when it was
 * loaded at or before the period's start in both the zone before it and its own: no event already
 * stored under one period (its time before the load) ever belongs to another one after the load.
 */
import type { Account } from "../contract/accounts.js";
import type { Tariff } from "../contract/tariffs.js";
import { type PeriodId, periodOf, periodWindow, shiftPeriod, zoneSchedule } from "./time.js";

export interface AccountVersion {
  /** When the load that wrote it happened (epoch ms); 0 for a version from before versions were kept. */
  readonly from: number;
  readonly account: Account;
  readonly tariff: Tariff;
}

export interface AccountHistory {
  readonly accountId: string;
  /** Ascending by `from`; at least one. */
  readonly versions: readonly AccountVersion[];
  /** The load that omitted the account (epoch ms), when it is ended. */
  readonly endedAt?: number;
}

/** The account and tariff one period is rated with: the version's, with the account's zone schedule. */
export interface RatedVersion {
  readonly account: Account;
  readonly tariff: Tariff;
}

/** The first period a version takes over (see the module comment), given the zone in force before it. */
function firstPeriodOf(v: AccountVersion, zoneBefore: string): PeriodId {
  let p = periodOf(v.from, v.account.timezone);
  for (;;) {
    if (v.from <= periodWindow(p, zoneBefore).start && v.from <= periodWindow(p, v.account.timezone).start)
      return p;
    p = shiftPeriod(p, 1);
  }
}

/** Per history object (a directory lookup is reused for a whole batch): computed once. */
const takeoverCache = new WeakMap<AccountHistory, { version: AccountVersion; first: PeriodId }[]>();
const scheduleCache = new WeakMap<AccountHistory, string>();

/** Each version with the first period it rates (the first version: every period before the next). */
function takeovers(history: AccountHistory): { version: AccountVersion; first: PeriodId }[] {
  let t = takeoverCache.get(history);
  if (!t) {
    t = computeTakeovers(history);
    takeoverCache.set(history, t);
  }
  return t;
}

function computeTakeovers(history: AccountHistory): { version: AccountVersion; first: PeriodId }[] {
  const [first, ...rest] = history.versions;
  if (!first) throw new RangeError(`account ${history.accountId} has no configuration version`);
  const out = [{ version: first, first: "0000-01" }];
  for (const v of rest) {
    const before = out.at(-1)!;
    const p = firstPeriodOf(v, before.version.account.timezone);
    // A later version that takes over the same period as an earlier one replaces it there.
    while (out.length > 1 && out.at(-1)!.first >= p) out.pop();
    out.push({ version: v, first: p });
  }
  return out;
}

/** The account's zone schedule across its versions (time.ts): a plain zone when it never changed. */
export function zoneScheduleOf(history: AccountHistory): string {
  let schedule = scheduleCache.get(history);
  if (schedule === undefined) {
    schedule = computeSchedule(history);
    scheduleCache.set(history, schedule);
  }
  return schedule;
}

function computeSchedule(history: AccountHistory): string {
  const t = takeovers(history);
  const changes: { from: PeriodId; zone: string }[] = [];
  let zone = t[0]!.version.account.timezone;
  for (const { version, first } of t.slice(1))
    if (version.account.timezone !== zone) {
      zone = version.account.timezone;
      changes.push({ from: first, zone });
    }
  return changes.length === 0 ? zone : zoneSchedule(t[0]!.version.account.timezone, changes);
}

/** The version a period is rated with, its account carrying the account's whole zone schedule. */
export function versionForPeriod(history: AccountHistory, periodId: PeriodId): RatedVersion {
  const t = takeovers(history);
  let chosen = t[0]!.version;
  for (const { version, first } of t) if (first <= periodId) chosen = version;
  const schedule = zoneScheduleOf(history);
  return { account: { ...chosen.account, timezone: schedule }, tariff: chosen.tariff };
}

/** The period an instant belongs to for this account (its zone schedule). */
export const periodOfAccount = (history: AccountHistory, t: number): PeriodId =>
  periodOf(t, zoneScheduleOf(history));

/** An event at `t` comes after the account's end: refused as `account ended` (contract §2). */
export const endedBefore = (history: AccountHistory, t: number): boolean =>
  history.endedAt !== undefined && t >= history.endedAt;

/**
 * The period begins at or after the account's end: the account was not a customer in it, so a close
 * of it bills no charge of its own (recurring fees, packages, minimums), only adjustments of the
 * periods up to the end.
 */
export const periodAfterEnd = (history: AccountHistory, periodId: PeriodId): boolean =>
  history.endedAt !== undefined && history.endedAt <= periodWindow(periodId, zoneScheduleOf(history)).start;

/**
 * The period whose close bills the adjustments of an ended account's late event received at
 * `receivedAt`: the period of receipt in the account's last zone (schedule), as for a live account,
 * whose late events are billed by the close of the period they arrive in. No other close of an
 * ended account would ever run to bill them.
 */
export const adjustmentPeriodOf = (history: AccountHistory, receivedAt: number): PeriodId =>
  periodOfAccount(history, receivedAt);

/** The reason an event after the account's end is refused with (contract §2). */
export const ACCOUNT_ENDED = "account ended";

/** The history of an account configured once, before versions were kept (tools, tests). */
export const singleVersion = (account: Account, tariff: Tariff): AccountHistory => ({
  accountId: account.accountId,
  versions: [{ from: 0, account, tariff }],
});

/**
 * Carry-over snapshots (docs/decisions.md D14): what a period's rating needs from before its start,
 * so that a close reads one period's state instead of the account's whole history.
 *
 * A snapshot at the start S of period P is a small subset of the account's real events before S
 * plus a few facts no event can express. Rating P from (snapshot + P's events + P's counters)
 * gives the same lines, suspense and compliance figures as rating it from the whole history
 * (test/property/carry-over.test.ts), and the snapshot at the start of P+1 is built from (the
 * snapshot at S + P's events) alone, so each close reads one period and writes the next snapshot.
 *
 * What each rule reads from before S, and what is kept (all bounded by the state open at S, never
 * by the length of the history, except the list of settled storage days: one short string a day):
 * - resources (G11; number/feature/trunk fees, setup fee once per resourceId ever, E911 and fair
 *   use): per resourceId its first event (type), its first activation (with the events at that
 *   instant) and the activation that opened its last non-empty stretch (with the events at that
 *   instant and at the instant that closed it): the timeline is then the same from S on, and so
 *   are its first activation and its latest attributes;
 * - Viber §3.1: each session open at S — its opener and the messages it covered (≤ 60); Viber Bot §3.2: the latest inbound of each
 *   (bot, user) whose CSW is open at S;
 * - WhatsApp §3.3: inbounds of the last 48 h (CSW at S, and the CSW that let a conversation still
 *   open at S open), and per (sender, user, category) the message that opened the conversation
 *   still open at S;
 * - USSD / Sangdam: the last event of each session id seen in the SESSION_ID_REUSE_GAP before S;
 * - Conversations named users: the last `added` of each user provisioned at S;
 * - recording compliance: calls whose recording runs across S; storage: the latest report of each
 *   day of P or later reported before S (event), and the days of earlier periods settled (fact);
 * - facts: §5 fair use of the period before P (its two-period breach rule), the Answers sessions
 *   open at S (last message instant).
 * Every other type is read only inside its own period (per-event charges, distinct sets).
 */
import type { Account } from "../../contract/accounts.js";
import { instantOf } from "../../contract/common.js";
import { compareStrings } from "../compare.js";
import { compositeKey } from "../keys.js";
import { DAY, MINUTE, type PeriodId, periodWindow, shiftPeriod } from "../time.js";
import { canonicalOrder } from "./ordering.js";
import { resourceTimelines } from "./resource-state.js";
import { SESSION_ID_REUSE_GAP, sessionKeyOf } from "./rules/messaging.js";
import { replayAnswers } from "./rules/saas.js";
import { VIBER_SESSION_LENGTH, VIBER_SESSION_MESSAGES } from "./rules/viber.js";
import { fairUseOf } from "./rules/voice.js";
import { WHATSAPP_PER_MESSAGE_FROM } from "./rules/whatsapp.js";
import { type CarriedRuleFacts, eventsOfType, type LedgerEvent, type LedgerEventOf } from "./types.js";

/** The carry-over snapshot at the start of `period`. */
export interface CarriedFacts extends CarriedRuleFacts {
  /** The period whose start this snapshot is taken at. */
  readonly period: PeriodId;
  /** The events kept, all before the period's start, in canonical order (G12). */
  readonly events: readonly LedgerEvent[];
}

/** §2.1: the longest Answers session timeout (accounts.ts); sessions are carried this long. */
const ANSWERS_MAX_TIMEOUT = 1_440 * MINUTE;

/**
 * The snapshot at the start of `periodId`, from every event before it that the caller has: the
 * whole history before the period, or (the close's way) the previous period's snapshot events and
 * that period's events, with the previous snapshot's facts as `previous`.
 */
export function carryOver(
  account: Account,
  periodId: PeriodId,
  events: readonly LedgerEvent[],
  previous?: CarriedFacts,
): CarriedFacts {
  const start = periodWindow(periodId, account.timezone).start;
  if (previous && previous.period !== shiftPeriod(periodId, -1))
    throw new Error(`snapshot of ${previous.period} cannot carry over to ${periodId}`);
  const all = canonicalOrder(
    [...(previous?.events ?? []), ...events].filter((e) => e.subject === account.accountId && e.t < start),
  );
  const keep = new Set<LedgerEvent>();
  const add = (e: LedgerEvent | undefined) => {
    if (e) keep.add(e);
  };

  keepResources(all, add);
  keepViber(all, start, add);
  keepViberBot(all, start, add);
  keepWhatsApp(all, start, add);
  keepSessions(all, start, add);
  keepNamedUsers(all, add);
  for (const c of eventsOfType(all, "voice.call")) {
    const r = c.data.recording;
    if (r && instantOf(r.endedAt) > start && instantOf(r.endedAt) > instantOf(r.startedAt)) add(c);
  }
  const storageDaysSettled = keepStorage(all, periodId, previous?.storageDaysSettled ?? [], add);

  // Facts: the previous period's fair use (§5) and the Answers sessions open at S (§2.1).
  const prevPeriod = periodWindow(shiftPeriod(periodId, -1), account.timezone);
  const previousFairUse = fairUseOf(prevPeriod, eventsOfType(all, "voice.call"), resourceTimelines(all));
  const answers = replayAnswers(
    account,
    prevPeriod,
    all.filter((e) => !previous || e.t >= prevPeriod.start),
    previous?.answersSessions,
  );
  const answersSessions = [...answers.open]
    .filter(([, last]) => last + ANSWERS_MAX_TIMEOUT > start)
    .sort(([a], [b]) => compareStrings(a, b));

  return {
    period: periodId,
    events: all.filter((e) => keep.has(e)),
    previousFairUse,
    answersSessions,
    storageDaysSettled,
  };
}

/** The events of a list at one instant. */
function atInstant(list: readonly LedgerEvent[], t: number): LedgerEvent[] {
  return list.filter((e) => e.t === t);
}

function keepResources(all: readonly LedgerEvent[], add: (e: LedgerEvent | undefined) => void) {
  const byId = new Map<string, LedgerEventOf<"resource.activated" | "resource.deactivated">[]>();
  for (const e of eventsOfType(all, "resource.activated", "resource.deactivated")) {
    const list = byId.get(e.data.resourceId) ?? [];
    list.push(e);
    byId.set(e.data.resourceId, list);
  }
  for (const list of byId.values()) {
    add(list[0]); // fixes the resource's type (resource-state.ts takes it from the first event)
    const first = list.find((e) => e.type === "resource.activated");
    if (!first) continue;
    for (const e of atInstant(list, first.t)) add(e);
    // The last non-empty stretch: its opener and what closed it (same-instant events included).
    let open: LedgerEvent | undefined;
    let last: { opener: LedgerEvent; closer: LedgerEvent } | undefined;
    for (const e of list) {
      if (open && e.t > open.t) last = { opener: open, closer: e };
      if (e.type === "resource.activated") open = e;
      else open = undefined;
    }
    if (open) {
      for (const e of atInstant(list, open.t)) add(e);
    } else if (last) {
      for (const e of atInstant(list, last.opener.t)) add(e);
      for (const e of atInstant(list, last.closer.t)) add(e);
    }
  }
}

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

function keepWhatsApp(all: readonly LedgerEvent[], start: number, add: (e: LedgerEvent | undefined) => void) {
  type Category = string;
  interface Thread {
    latestInbound?: number;
    readonly conversations: Map<Category, LedgerEvent>;
  }
  const threads = new Map<string, Thread>();
  for (const e of eventsOfType(all, "whatsapp.inbound", "whatsapp.message")) {
    const key = compositeKey(e.data.senderId, e.data.endUserId);
    let th = threads.get(key);
    if (!th) {
      th = { conversations: new Map() };
      threads.set(key, th);
    }
    if (e.type === "whatsapp.inbound") {
      th.latestInbound = e.t;
      // The CSW at S, and the CSW in which a conversation still open at S was opened.
      if (e.t + 2 * DAY > start) add(e);
      continue;
    }
    // The per-conversation regime of rules/whatsapp.ts, conversations only.
    if (!e.data.delivered || e.t >= WHATSAPP_PER_MESSAGE_FROM) continue;
    if (e.data.kind === "template" && e.data.category === undefined) continue;
    const thread = th;
    const isOpen = (c: Category) => {
      const opener = thread.conversations.get(c);
      return opener !== undefined && e.t < opener.t + DAY;
    };
    const open = (c: Category) => {
      if (e.data.blocked !== true) thread.conversations.set(c, e);
    };
    if (e.data.kind === "template") {
      const c = e.data.category!;
      if (!isOpen(c)) open(c);
      continue;
    }
    if ([...thread.conversations.keys()].some(isOpen)) continue;
    const inCsw = thread.latestInbound !== undefined && e.t < thread.latestInbound + DAY;
    if (inCsw) open("service");
  }
  for (const th of threads.values())
    for (const opener of th.conversations.values()) if (opener.t + DAY > start) add(opener);
}

function keepSessions(all: readonly LedgerEvent[], start: number, add: (e: LedgerEvent | undefined) => void) {
  const last = new Map<string, LedgerEvent>();
  for (const e of eventsOfType(all, "ussd.session", "kakao.sangdam_session")) last.set(sessionKeyOf(e), e);
  for (const e of last.values()) if (start - e.t < SESSION_ID_REUSE_GAP) add(e);
}

function keepNamedUsers(all: readonly LedgerEvent[], add: (e: LedgerEvent | undefined) => void) {
  const last = new Map<string, LedgerEventOf<"conversations.user">>();
  for (const e of eventsOfType(all, "conversations.user")) last.set(e.data.userId, e);
  for (const e of last.values()) if (e.data.action === "added") add(e);
}

/** §5 storage (rules/recording.ts storageDaysOf): returns the settled days, keeps the reports still needed. */
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

/** rules/recording.ts: the greatest `time`, then `id`, then `source` wins. */
const later = (a: LedgerEvent, b: LedgerEvent): boolean =>
  a.t !== b.t ? a.t > b.t : a.id !== b.id ? a.id > b.id : a.source > b.source;

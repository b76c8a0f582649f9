/**
 * The state each product rule carries across a period start (carry.ts), one carrier per kind
 * of state. A rule names its carriers in its declaration (rules/index.ts); the carry-over snapshot
 * runs the carriers of every declared rule, and the types they carry are the ones whose late events
 * can change later closed periods (G7). Each carrier keeps a bounded subset of the real events
 * before the start (`add`) and may return facts no event can express.
 */
import type { Account } from "../../contract/accounts.js";
import { instantOf } from "../../contract/common.js";
import { compareStrings } from "../compare.js";
import { compositeKey } from "../keys.js";
import { DAY, MINUTE, type PeriodId, type PeriodWindow } from "../time.js";
import { resourceTimelines } from "./resource-state.js";
import { SESSION_ID_REUSE_GAP, sessionKeyOf } from "./rules/messaging.js";
import { replayAnswers } from "./rules/saas.js";
import { VIBER_SESSION_LENGTH, VIBER_SESSION_MESSAGES } from "./rules/viber.js";
import { fairUseOf } from "./rules/voice.js";
import { WHATSAPP_PER_MESSAGE_FROM } from "./rules/whatsapp.js";
import type { CarriedRuleFacts, LedgerEvent, LedgerEventOf } from "./types.js";
import { eventsOfType } from "./types.js";

/** What a carrier sees when the snapshot at the start of `periodId` is built. */
export interface CarryContext {
  readonly account: Account;
  readonly periodId: PeriodId;
  /** The period's first instant (S). */
  readonly start: number;
  /** The period before (its fair use, its Answers sessions). */
  readonly previousPeriod: PeriodWindow;
  /** The account's events before S that the caller has, in canonical order. */
  readonly all: readonly LedgerEvent[];
  /** The snapshot at the previous period's start, when `all` holds only that snapshot and the period's events. */
  readonly previous?: CarriedRuleFacts | undefined;
  /** Keeps an event in the snapshot. */
  readonly add: (e: LedgerEvent | undefined) => void;
}

/** One kind of carried state: keeps its events, returns its facts (if any). */
export type Carrier = (ctx: CarryContext) => Partial<CarriedRuleFacts> | undefined;

/** A carrier that keeps events and carries no fact of its own. */
const keeping =
  (keep: (ctx: CarryContext) => void): Carrier =>
  (ctx) => {
    keep(ctx);
    return undefined;
  };

/** §2.1: the longest Answers session timeout (accounts.ts); sessions are carried this long. */
const ANSWERS_MAX_TIMEOUT = 1_440 * MINUTE;

/** G11: per resourceId its first event, first activation and last non-empty stretch. */
export const carryResources = keeping(({ all, add }) => keepResources(all, add));
/** §3.1: each Viber session open at S, its opener and the messages it covered. */
export const carryViberSessions = keeping(({ all, start, add }) => keepViber(all, start, add));
/** §3.2: the latest inbound of each (bot, user) whose CSW is open at S. */
export const carryViberBotWindows = keeping(({ all, start, add }) => keepViberBot(all, start, add));
/** §3.3: inbounds of the last 48 h and the openers of conversations still open at S. */
export const carryWhatsApp = keeping(({ all, start, add }) => keepWhatsApp(all, start, add));
/** USSD / Sangdam: the last event of each session id seen in the SESSION_ID_REUSE_GAP before S. */
export const carrySessionIds = keeping(({ all, start, add }) => keepSessions(all, start, add));
/** Conversations named users: the last `added` of each user provisioned at S. */
export const carryNamedUsers = keeping(({ all, add }) => keepNamedUsers(all, add));
/** §5 recording licences: calls whose recording runs across S. */
export const carryRecordingsAcross = keeping(({ all, start, add }) => {
  for (const c of eventsOfType(all, "voice.call")) {
    const r = c.data.recording;
    if (r && instantOf(r.endedAt) > start && instantOf(r.endedAt) > instantOf(r.startedAt)) add(c);
  }
});
/** §5 storage: the latest report of each day of P or later, and the days of earlier periods settled. */
export const carryStorageDays: Carrier = ({ all, periodId, previous, add }) => ({
  storageDaysSettled: keepStorage(all, periodId, previous?.storageDaysSettled ?? [], add),
});
/** §5 SIP trunk fair use of the period before (its two-period breach rule). */
export const carryFairUse: Carrier = ({ all, previousPeriod }) => ({
  previousFairUse: fairUseOf(previousPeriod, eventsOfType(all, "voice.call"), resourceTimelines(all)),
});
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

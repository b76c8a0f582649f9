/**
 * Carry-over snapshots: what a period's rating needs from before its start,
 * so that a close reads one period's state instead of the account's whole history.
 *
 * A snapshot at the start S of period P is a small subset of the account's real events before S
 * plus a few facts no event can express. Rating P from (snapshot + P's events + P's counters)
 * gives the same lines, suspense and compliance figures as rating it from the whole history
 * (test/property/carry-over.test.ts), and the snapshot at the start of P+1 is built from (the
 * snapshot at S + P's events) alone, so each close reads one period and writes the next snapshot.
 *
 * Each product rule declares the state it carries (products/<family>/index.ts, `carries`); the
 * snapshot runs the carriers of every declared rule (products/<family>/carry.ts), once each. What each rule reads from before
 * S, and what is kept (all bounded by the state open at S, never
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
import { builtInProducts, type ProductCatalogue } from "../products/index.js";
import { type PeriodId, periodWindow, shiftPeriod } from "../time.js";
import { canonicalOrder } from "./ordering.js";
import type { CarriedRuleFacts, LedgerEvent } from "./types.js";

/** The carry-over snapshot at the start of `period`. */
export interface CarriedFacts extends CarriedRuleFacts {
  /** The period whose start this snapshot is taken at. */
  readonly period: PeriodId;
  /** The events kept, all before the period's start, in canonical order (G12). */
  readonly events: readonly LedgerEvent[];
}

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
  products: ProductCatalogue = builtInProducts,
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
  const previousPeriod = periodWindow(shiftPeriod(periodId, -1), account.timezone);
  const facts: Partial<CarriedRuleFacts> = {};
  for (const carry of products.carriers)
    Object.assign(facts, carry({ account, periodId, start, previousPeriod, all, previous, add }));
  // A fixed shape (snapshots are compared as JSON: a changed one means its period's state changed).
  return {
    period: periodId,
    events: all.filter((e) => keep.has(e)),
    previousFairUse: facts.previousFairUse,
    answersSessions: facts.answersSessions,
    storageDaysSettled: facts.storageDaysSettled,
  };
}

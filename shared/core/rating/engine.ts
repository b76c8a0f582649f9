/**
 * The rating engine: runs every product rule over an account's ledger for one period and prices
 * the result. Pure: the same account, tariff and set of events always give the same lines (G6).
 */
import type { Account } from "../../contract/accounts.js";
import type { Tariff } from "../../contract/tariffs.js";
import { builtInProducts, type ProductCatalogue } from "../products/index.js";
import { type PeriodId, type PeriodWindow, periodOf, periodWindow } from "../time.js";
import type { CarriedFacts } from "./carry.js";
import { chargesFromCounters, NO_COUNTERS, type PeriodCounters } from "./counters.js";
import { canonicalOrder } from "./ordering.js";
import { type PricedLine, priceCharges } from "./pricing.js";
import type { Charge, LedgerEvent, PeriodCharges, SuspenseItem } from "./types.js";

/**
 * How far after a period's end events can still change its charges: the longest reach back a rule
 * declares (products/<family>/index.ts; a Viber session opened in the period is charged there once its first
 * session message is delivered, up to 24 h later, §3.1). A close reads the ledger this far past
 * the period's end.
 */
export const RATING_LOOKAHEAD = builtInProducts.longestReachBack;

/**
 * The periods up to its own whose charges an event can change (G7), from the rules' declarations
 * (products/<family>/index.ts): its own, and each earlier one a rule's `reachesBack` names (a session-type Viber
 * message: the period of `(t − 24 h, t]` in which its session may have been opened, §3.1).
 * Ingestion marks each of them late when it is already closed; whether later periods can change
 * too is `changesLaterPeriods` of its type (the close then follows the carried state forward).
 */
export function periodsChangedBy(
  e: LedgerEvent,
  timezone: string,
  products: ProductCatalogue = builtInProducts,
): PeriodId[] {
  const own = periodOf(e.t, timezone);
  const earliest = periodOf(products.earliestChangedInstant(e), timezone);
  return earliest === own ? [own] : [earliest, own];
}

export interface PeriodRating {
  readonly period: PeriodWindow;
  readonly lines: PricedLine[];
  readonly suspense: SuspenseItem[];
  readonly compliance: Record<string, unknown>;
  /** Events of the account that fall in the period (for the close report). */
  readonly eventCount: number;
  /** What was priced, for explanations (explain/): the charges, blocked charges and events read. */
  readonly basis: RatingBasis;
}

/** The charges a period's lines were priced from and the ledger events the rules read (explain/). */
export interface RatingBasis extends PeriodCharges {
  /** The account's events read by the rules, in canonical order (carried, the period's, look-ahead). */
  readonly events: readonly LedgerEvent[];
}

export interface RatePeriodInput {
  readonly account: Account;
  readonly tariff: Tariff;
  readonly periodId: PeriodId;
  /**
   * The account's ledger events, in any order. Events after the period's end are ignored except
   * those within RATING_LOOKAHEAD of it, which may complete a charge of the period (§3.1).
   */
  readonly events: readonly LedgerEvent[];
  /** The period's monthly counters (counted events, counters.ts), added to what the rules give. */
  readonly counters?: PeriodCounters;
  /**
   * The carry-over snapshot at the period's start (carry.ts). When given, it stands for every
   * event before the period: `events` before the period's start are ignored and the snapshot's
   * events and facts are used instead. The lines are the same as from the whole history.
   */
  readonly carried?: CarriedFacts;
  /** The products rated (products/index.ts): the built-in ones unless a test registers its own. */
  readonly products?: ProductCatalogue;
}

export function ratePeriod({
  account,
  tariff,
  periodId,
  events,
  counters,
  carried,
  products = builtInProducts,
}: RatePeriodInput): PeriodRating {
  const period = periodWindow(periodId, account.timezone);
  const mine = (e: LedgerEvent) => e.subject === account.accountId;
  const own = carried
    ? [
        ...canonicalOrder(carried.events.filter((e) => mine(e) && e.t < period.start)),
        ...canonicalOrder(events.filter((e) => mine(e) && e.t >= period.start)),
      ]
    : canonicalOrder(events.filter(mine));
  const history = own.filter((e) => e.t < period.end);
  const following = own.filter((e) => e.t >= period.end && e.t < period.end + products.longestReachBack);
  const charges: Charge[] = [];
  const blocked: Charge[] = [];
  const suspense: SuspenseItem[] = [];
  const compliance: Record<string, unknown> = {};
  const commitmentSenders = new Set<string>();
  for (const rule of products.rules) {
    const out = rule({ account, period, events: history, following, ...(carried ? { carried } : {}) });
    charges.push(...out.charges);
    if (out.blocked) blocked.push(...out.blocked);
    if (out.suspense) suspense.push(...out.suspense);
    if (out.compliance) Object.assign(compliance, out.compliance);
    for (const s of out.commitmentSenders ?? []) commitmentSenders.add(s);
  }
  const counted = chargesFromCounters(period, counters ?? NO_COUNTERS);
  charges.push(...counted.charges);
  blocked.push(...counted.blocked);
  suspense.push(...counted.suspense);
  const priced = priceCharges({ account, tariff, period, charges, blocked, commitmentSenders, products });
  return {
    period,
    lines: priced.lines,
    suspense: [...suspense, ...priced.suspense],
    compliance,
    eventCount: history.filter((e) => e.t >= period.start).length + counted.eventCount,
    basis: { charges, blocked, events: own },
  };
}

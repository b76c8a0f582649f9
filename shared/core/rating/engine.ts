/**
 * The rating engine: runs every product rule over an account's ledger for one period and prices
 * the result. Pure: the same account, tariff and set of events always give the same lines (G6).
 */
import type { Account } from "../../contract/accounts.js";
import type { Tariff } from "../../contract/tariffs.js";
import { type PeriodId, type PeriodWindow, periodWindow } from "../time.js";
import { chargesFromCounters, NO_COUNTERS, type PeriodCounters } from "./counters.js";
import { canonicalOrder } from "./ordering.js";
import { type PricedLine, priceCharges } from "./pricing.js";
import { productRules } from "./rules/index.js";
import type { Charge, LedgerEvent, SuspenseItem } from "./types.js";

export interface PeriodRating {
  readonly period: PeriodWindow;
  readonly lines: PricedLine[];
  readonly suspense: SuspenseItem[];
  readonly compliance: Record<string, unknown>;
  /** Events of the account that fall in the period (for the close report). */
  readonly eventCount: number;
}

export interface RatePeriodInput {
  readonly account: Account;
  readonly tariff: Tariff;
  readonly periodId: PeriodId;
  /** The account's ledger events; any order, any extra events after the period are ignored. */
  readonly events: readonly LedgerEvent[];
  /** The period's monthly counters (counted events, counters.ts), added to what the rules give. */
  readonly counters?: PeriodCounters;
}

export function ratePeriod({ account, tariff, periodId, events, counters }: RatePeriodInput): PeriodRating {
  const period = periodWindow(periodId, account.timezone);
  const history = canonicalOrder(events.filter((e) => e.t < period.end && e.subject === account.accountId));
  const charges: Charge[] = [];
  const blocked: Charge[] = [];
  const suspense: SuspenseItem[] = [];
  const compliance: Record<string, unknown> = {};
  const commitmentSenders = new Set<string>();
  for (const rule of productRules) {
    const out = rule({ account, period, events: history });
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
  const priced = priceCharges({ account, tariff, period, charges, blocked, commitmentSenders });
  return {
    period,
    lines: priced.lines,
    suspense: [...suspense, ...priced.suspense],
    compliance,
    eventCount: history.filter((e) => e.t >= period.start).length + counted.eventCount,
  };
}

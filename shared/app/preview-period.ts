/**
 * Month-to-date preview (issue 9 item 3): the lines an account's period would close with now,
 * from the same bounded state as the close (rate-account-period.ts), writing nothing.
 */
import type { InvoiceLine } from "../contract/invoice-line.js";
import { type BillingConfig, configIndex, UnknownAccountError } from "../core/config.js";
import { formatMoney, ZERO } from "../core/money.js";
import { RATING_LOOKAHEAD } from "../core/rating/engine.js";
import { sortInvoiceLines, toInvoiceLine } from "../core/rating/invoice.js";
import { type PeriodId, parsePeriod, periodOf, periodWindow } from "../core/time.js";
import type { UsageStore } from "../ports/usage-store.js";
import { loadPeriodState, rateAccountPeriod } from "./rate-account-period.js";

export interface PreviewDeps {
  readonly usage: UsageStore;
  readonly config: () => Promise<BillingConfig>;
}

export interface PeriodPreview {
  readonly accountId: string;
  readonly period: PeriodId;
  readonly currency: string;
  readonly lines: InvoiceLine[];
  readonly amount: string;
  /** Events of the period included (counted and raw). */
  readonly events: number;
  /**
   * The newest event included, ISO 8601, raw (stateful) or counted; null when there is none. A
   * counted event's time is the one its counter's latest write recorded: with events delivered out
   * of order it can be older than the newest counted event, never newer than any event included.
   */
  readonly newestEventAt: string | null;
}

export { UnknownAccountError };

export async function previewPeriod(
  accountId: string,
  periodId: PeriodId,
  deps: PreviewDeps,
): Promise<PeriodPreview> {
  parsePeriod(periodId);
  const config = await deps.config();
  const account = config.accounts.find((a) => a.accountId === accountId);
  if (!account) throw new UnknownAccountError(`unknown account "${accountId}"`);
  const tariff = configIndex(config).tariffOf(account);
  const period = periodWindow(periodId, account.timezone);
  const lastPeriod = periodOf(period.end + RATING_LOOKAHEAD - 1, account.timezone);
  const usagePeriods = (await deps.usage.usageMarkers(accountId)).filter((p) => p.period <= lastPeriod);
  const state = await loadPeriodState(deps.usage, account, periodId, usagePeriods);
  const rating = rateAccountPeriod(account, tariff, state);
  const lines = sortInvoiceLines(
    rating.lines.map((l) => toInvoiceLine(account, tariff.currency, periodId, periodId, l)),
  );
  const newest = state.events.reduce(
    (m, e) => Math.max(m, e.t),
    state.counters.newestEventAt ?? Number.NEGATIVE_INFINITY,
  );
  return {
    accountId,
    period: periodId,
    currency: tariff.currency,
    lines,
    amount: formatMoney(
      lines.reduce((s, l) => s.plus(l.amount), ZERO),
      tariff.currency,
    ),
    events: rating.eventCount,
    newestEventAt: Number.isFinite(newest) ? new Date(newest).toISOString() : null,
  };
}

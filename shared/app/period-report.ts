/**
 * The finance page of a period (issue 10 item 4), from storage: the period's and the previous
 * period's invoice lines and the period's close reports, read account by account with key queries
 * (no table scan), then rendered by the pure shared/core/finance-report.ts.
 *
 * The lines billed in a period P are those its closes emitted: the lines of reference period P with
 * period P, and the adjustments of earlier reference periods R that P's close report lists (each
 * read under LINE#R#P). Cost: per account and period one close record read and one query per
 * reference period billed, each bounded by that account's lines (docs/data-model.md); the accounts
 * are those the period index lists as closed, configured now or not (contract §2).
 */
import type { InvoiceLine } from "../contract/invoice-line.js";
import type { AccountCloseReport } from "../core/close-report.js";
import type { BillingConfig } from "../core/config.js";
import {
  type PeriodReportInput,
  type ReportCloseSummary,
  renderPeriodReport,
  type UnclosedAccount,
} from "../core/finance-report.js";
import { mapLimit } from "../core/map-limit.js";
import { type PeriodId, shiftPeriod } from "../core/time.js";
import type { PeriodIndex } from "../ports/period-index.js";
import type { CloseRecord, PeriodStore } from "../ports/storage.js";
import type { UsageStore } from "../ports/usage-store.js";
import { closedAccountLines } from "./period-exports.js";

export interface PeriodReportDeps {
  /** With the period index, the accounts it lists as closed are read (else the configured ones). */
  readonly periods: Pick<PeriodStore, "getClose" | "linesForReference"> &
    Partial<Pick<PeriodIndex, "closedAccounts" | "closedAccount">>;
  readonly config: () => Promise<BillingConfig>;
  /** With it, the page lists the configured accounts with usage in the period and no close. */
  readonly usage?: Pick<UsageStore, "usageMarkers">;
}

export interface PeriodBilling {
  readonly period: PeriodId;
  /** The lines the period's closes emitted, in no particular order. */
  readonly lines: InvoiceLine[];
  /** The close reports of the accounts closed for the period. */
  readonly reports: AccountCloseReport[];
}

/** Account reads in flight at once. */
const CONCURRENCY = 8;

/** The report of a close that is done (none while one is being closed, or without a report). */
const closedReport = (close: CloseRecord | undefined): AccountCloseReport | undefined =>
  close?.status === "closed" && close.report ? (close.report as AccountCloseReport) : undefined;

/** What every account closed for `period` was billed in it. */
export async function readPeriodBilling(
  deps: PeriodReportDeps,
  period: PeriodId,
  /** These accounts only (each one's close record decides); default: the period's own accounts. */
  only?: readonly string[],
): Promise<PeriodBilling> {
  // The period's accounts come from its own index (contract §2): an account since removed from the
  // configuration still has its closed lines listed. Without an index, the configured accounts.
  const ids =
    only ??
    (deps.periods.closedAccounts
      ? (await deps.periods.closedAccounts(period)).map((e) => e.accountId)
      : (await deps.config()).accounts.map((a) => a.accountId));
  const perAccount = await mapLimit(ids, CONCURRENCY, async (accountId) => {
    const report = closedReport(await deps.periods.getClose(accountId, period));
    if (!report) return { lines: [], report: undefined };
    return { lines: await closedAccountLines(deps.periods, accountId, period, report), report };
  });
  return {
    period,
    lines: perAccount.flatMap((p) => p.lines),
    reports: perAccount.flatMap((p) => (p.report ? [p.report] : [])),
  };
}

/**
 * The configured accounts that are not closed for `period` but hold usage in it: one key Query of
 * usage markers per such account (none for the accounts closed, usually all of them after a close).
 */
async function usageWithoutClose(
  deps: PeriodReportDeps,
  usage: Pick<UsageStore, "usageMarkers">,
  period: PeriodId,
  current: PeriodBilling,
): Promise<UnclosedAccount[]> {
  const closed = new Set(current.reports.map((r) => r.accountId));
  const { accounts } = await deps.config();
  const open = accounts.filter((a) => !closed.has(a.accountId));
  const marked = await mapLimit(open, CONCURRENCY, async (a) =>
    (await usage.usageMarkers(a.accountId)).some((m) => m.period === period),
  );
  return open
    .filter((_, i) => marked[i])
    .map((a) => ({
      accountId: a.accountId,
      billingChannel: a.billingChannel,
      currency: a.currency,
    }));
}

/** The page's input for `period` (its previous period read too). */
export async function periodReportInput(
  deps: PeriodReportDeps,
  period: PeriodId,
  links: PeriodReportInput["links"],
): Promise<{ input: PeriodReportInput; current: PeriodBilling }> {
  const previousPeriod = shiftPeriod(period, -1);
  const [current, previous] = await Promise.all([
    readPeriodBilling(deps, period),
    readPeriodBilling(deps, previousPeriod),
  ]);
  return {
    current,
    input: {
      period,
      previousPeriod,
      lines: current.lines,
      previousLines: previous.lines,
      previousClosed: previous.reports.map((r) => r.accountId),
      reports: current.reports satisfies readonly ReportCloseSummary[],
      ...(deps.usage ? { unclosed: await usageWithoutClose(deps, deps.usage, period, current) } : {}),
      links,
    },
  };
}

export async function periodReportHtml(
  deps: PeriodReportDeps,
  period: PeriodId,
  links: PeriodReportInput["links"],
): Promise<string> {
  return renderPeriodReport((await periodReportInput(deps, period, links)).input);
}

/** A page of a period's close reports: those of `limit` accounts from the index key `fromKey` on. */
export interface CloseReportPage {
  readonly reports: AccountCloseReport[];
  /** The index key of the first account of the next page (none: the period's last page). */
  readonly next?: string;
}

/**
 * The close reports of a period a page at a time, in the period index's order: `limit` entries of
 * the index from `fromKey` (inclusive), then one close record per entry. A page reads its own
 * accounts plus a constant, whatever the period's size, and holds only its reports (a period of
 * 100,000 accounts in one response would pass Lambda's 6 MB).
 */
export async function closeReportPage(
  periods: Pick<PeriodStore, "getClose"> & Pick<PeriodIndex, "closedAccountsFrom">,
  period: PeriodId,
  limit: number,
  fromKey?: string,
): Promise<CloseReportPage> {
  const ids: string[] = [];
  let next: string | undefined;
  for await (const e of periods.closedAccountsFrom(period, fromKey)) {
    if (ids.length === limit) {
      next = e.key;
      break;
    }
    ids.push(e.accountId);
  }
  const closes = await mapLimit(ids, CONCURRENCY, (accountId) => periods.getClose(accountId, period));
  return {
    reports: closes.flatMap((c) => closedReport(c) ?? []),
    ...(next !== undefined ? { next } : {}),
  };
}

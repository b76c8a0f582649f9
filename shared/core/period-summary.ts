/**
 * What the finance page of a period says, as data: per currency and invoicer the totals and their
 * change from the previous period, every closed account with its lines, amounts by product family,
 * adjustments, suspense, conflicts, rejected messages and the accounts left unclosed. Pure and
 * deterministic; finance-report.ts renders it as the page.
 *
 * Money is summed exactly (decimal.js) from the lines' amounts, which are already rounded once each
 * (G4): no further rounding. Only the change in percent is a display approximation.
 */
import type { Decimal } from "decimal.js";
import type { InvoiceLine } from "../contract/invoice-line.js";
import { compareStrings } from "./compare.js";
import { compositeKey, keyParts } from "./keys.js";
import { dec, formatMoney, ZERO } from "./money.js";

/** What the page reads of a close report (shared/app/close-period.ts AccountCloseReport has it all). */
export interface ReportCloseSummary {
  readonly accountId: string;
  readonly period: string;
  readonly billingChannel: string;
  readonly currency: string;
  /** Events rated by the close (a zero-line account's reason says whether there were any). */
  readonly events?: number;
  readonly totals: { readonly amount: string };
  readonly adjustments: readonly { referencePeriod: string; amount: string; lines: number }[];
  readonly suspense: Listed<SuspenseRow>;
  readonly suspenseCarried: readonly { referencePeriod: string; items: Listed<SuspenseRow> }[];
  readonly conflicts: Listed<{ source: string; id: string; seenAt: string }>;
  /** Conflicts whose first copy's period was already closed when they arrived (G5), by that period. */
  readonly lateConflicts?: Listed<{ referencePeriod: string; source: string; id: string; seenAt: string }>;
  readonly rejectedMessages: Listed<{ messageId: string; reason: string }>;
}

/** A close report's list: its length and up to 20 samples (the whole list is in close-report-lists.jsonl). */
export interface Listed<T> {
  readonly count: number;
  readonly samples: readonly T[];
}

interface SuspenseRow {
  readonly product: string;
  readonly reason: string;
  readonly quantity: string;
  readonly events: number;
}

/** A configured account with usage in the period and no close for it (yet). */
export interface UnclosedAccount {
  readonly accountId: string;
  readonly billingChannel: string;
  readonly currency: string;
}

export interface PeriodReportInput {
  readonly period: string;
  /** The lines billed in the period (`period` = the period; adjustments of earlier ones included). */
  readonly lines: readonly InvoiceLine[];
  /** The lines billed in the previous period, for the change. */
  readonly previousLines: readonly InvoiceLine[];
  readonly previousPeriod: string;
  /**
   * The accounts closed for the previous period: a figure "previous" is shown only where the
   * previous period was closed (else "not closed", never a 0.00 that was never billed).
   */
  readonly previousClosed: readonly string[];
  /** The close reports of the period, one per account closed. */
  readonly reports: readonly ReportCloseSummary[];
  /** Accounts with usage in the period but no close (listed: nothing is left unbilled silently). */
  readonly unclosed?: readonly UnclosedAccount[];
  /** Where the period's exports are, relative to the page or absolute. */
  readonly links: { readonly csv: string; readonly json: string; readonly closeReport?: string };
}

/** Who sends the invoice: we do for direct accounts, Microsoft for Azure Marketplace ones (rating-rules §6). */
export const invoicer = (billingChannel: string): string =>
  billingChannel === "azure-marketplace" ? "Microsoft invoices" : "We invoice";

export interface TotalRow {
  readonly currency: string;
  readonly billingChannel: string;
  /** Accounts closed on this channel in this currency, those without lines included. */
  readonly accounts: number;
  readonly lines: number;
  readonly amount: string;
  /** Undefined when no account of this channel and currency was closed for the previous period. */
  readonly previous?: string;
  readonly change?: string;
  /** Change in percent of the previous amount, one decimal; undefined when the previous was zero or not closed. */
  readonly changePercent?: string;
}

/** Per currency: what we invoice and what Microsoft invoices (never added together). */
export interface InvoicingRow {
  readonly currency: string;
  readonly weInvoice: string;
  readonly microsoftInvoices: string;
}

export interface AccountSection {
  readonly accountId: string;
  readonly billingChannel: string;
  readonly currency: string;
  readonly amount: string;
  /** Undefined when the account was not closed for the previous period. */
  readonly previous?: string;
  readonly change?: string;
  /** The account's lines, largest amount first. */
  readonly lines: readonly InvoiceLine[];
  /** Why a closed account has no line. */
  readonly noLineReason?: string;
}

export interface FamilyRow {
  readonly currency: string;
  readonly billingChannel: string;
  /** The product code's first part: `sms` of `sms.mt`, `voice` of `voice.minute`. */
  readonly family: string;
  readonly amount: string;
  readonly lines: number;
}

/** The summary of a period's report, for the period and the previous period its input names. */
export interface PeriodSummary extends Pick<PeriodReportInput, "period" | "previousPeriod"> {
  /** Whether any account was closed for the previous period. */
  readonly previousClosed: boolean;
  /** Accounts closed for the period (distinct), those without lines included. */
  readonly closedAccounts: number;
  readonly invoicing: readonly InvoicingRow[];
  readonly totals: readonly TotalRow[];
  /** Every closed account, by currency then amount (largest first). */
  readonly accounts: readonly AccountSection[];
  readonly families: readonly FamilyRow[];
  readonly adjustments: readonly InvoiceLine[];
  readonly suspense: readonly (SuspenseRow & { accountId: string; referencePeriod: string })[];
  readonly conflicts: readonly {
    accountId: string;
    referencePeriod: string;
    source: string;
    id: string;
    seenAt: string;
  }[];
  readonly rejectedMessages: readonly { accountId: string; messageId: string; reason: string }[];
  readonly unclosed: readonly UnclosedAccount[];
  /** Entries of each list over all reports; the tables above show the reports' samples. */
  readonly counts: {
    readonly suspense: number;
    readonly conflicts: number;
    readonly rejectedMessages: number;
  };
}

export const productFamily = (product: string): string => product.split(".")[0] || product;

/** Sums of amounts and line counts under a key. */
class Sums {
  private readonly m = new Map<string, { amount: Decimal; lines: number }>();
  add(key: string, amount: string): void {
    const s = this.m.get(key) ?? { amount: ZERO, lines: 0 };
    this.m.set(key, { amount: s.amount.plus(dec(amount)), lines: s.lines + 1 });
  }
  get(key: string): { amount: Decimal; lines: number } {
    return this.m.get(key) ?? { amount: ZERO, lines: 0 };
  }
  keys(): string[] {
    return [...this.m.keys()];
  }
}

/** What we invoice before what Microsoft invoices, then by channel name. */
const byInvoicer = (a: string, b: string) =>
  Number(a === "azure-marketplace") - Number(b === "azure-marketplace") || compareStrings(a, b);

/** Why a closed account has no invoice line, from its close report. */
export function noLineReason(r: ReportCloseSummary): string {
  const suspense = r.suspense.count + r.suspenseCarried.reduce((n, c) => n + c.items.count, 0);
  if (suspense > 0) return `no line: usage held in suspense (${suspense} items unpriced, see Suspense)`;
  const events = r.events ?? 0;
  if (events > 0) return `no line: ${events} events rated, none charged (priced at zero or included)`;
  if (r.rejectedMessages.count > 0)
    return `no line: no usage counted; ${r.rejectedMessages.count} messages rejected (see Rejected messages)`;
  return "no line: no usage in the period and no fee in the tariff";
}

/** A close summary with nothing in it but the account: no amount, no list entry. */
export const emptyCloseSummary = (
  account: Pick<ReportCloseSummary, "accountId" | "period" | "billingChannel" | "currency">,
): ReportCloseSummary => ({
  ...account,
  totals: { amount: "0" },
  adjustments: [],
  suspense: { count: 0, samples: [] },
  suspenseCarried: [],
  conflicts: { count: 0, samples: [] },
  rejectedMessages: { count: 0, samples: [] },
});

export function summarizePeriod(input: PeriodReportInput): PeriodSummary {
  const money = (d: Decimal, currency: string) => formatMoney(d, currency);
  const reports = [...new Map(input.reports.map((r) => [r.accountId, r])).values()].sort((a, b) =>
    compareStrings(a.accountId, b.accountId),
  );
  const previousClosed = new Set(input.previousClosed);
  const totals = new Sums();
  const previousTotals = new Sums();
  const accounts = new Sums();
  const previousAccounts = new Sums();
  const families = new Sums();
  const linesOf = new Map<string, InvoiceLine[]>();
  for (const l of input.lines) {
    totals.add(compositeKey(l.currency, l.billing_channel), l.amount);
    accounts.add(l.account_id, l.amount);
    families.add(compositeKey(l.currency, l.billing_channel, productFamily(l.product)), l.amount);
    const own = linesOf.get(l.account_id) ?? [];
    own.push(l);
    linesOf.set(l.account_id, own);
  }
  for (const l of input.previousLines) {
    previousTotals.add(compositeKey(l.currency, l.billing_channel), l.amount);
    previousAccounts.add(l.account_id, l.amount);
  }
  // Accounts per channel and currency from the close reports: an account without lines still counts.
  const accountsOf = new Map<string, number>();
  const previousClosedOf = new Set<string>();
  for (const r of reports) {
    const key = compositeKey(r.currency, r.billingChannel);
    accountsOf.set(key, (accountsOf.get(key) ?? 0) + 1);
    if (previousClosed.has(r.accountId)) previousClosedOf.add(key);
  }
  for (const l of input.previousLines) previousClosedOf.add(compositeKey(l.currency, l.billing_channel));
  // Every currency and channel of either period: a channel that billed nothing now still shows its drop.
  const totalKeys = [...new Set([...totals.keys(), ...previousTotals.keys(), ...accountsOf.keys()])];
  const totalRows: TotalRow[] = totalKeys.map((key) => {
    const [currency = "", billingChannel = ""] = keyParts(key);
    const now = totals.get(key);
    const row = {
      currency,
      billingChannel,
      accounts: accountsOf.get(key) ?? 0,
      lines: now.lines,
      amount: money(now.amount, currency),
    };
    if (!previousClosedOf.has(key)) return row;
    const before = previousTotals.get(key).amount;
    const change = now.amount.minus(before);
    return {
      ...row,
      previous: money(before, currency),
      change: money(change, currency),
      ...(before.isZero() ? {} : { changePercent: change.div(before.abs()).times(100).toFixed(1) }),
    };
  });
  totalRows.sort(
    (a, b) => compareStrings(a.currency, b.currency) || byInvoicer(a.billingChannel, b.billingChannel),
  );
  const invoicing = [...new Set(totalRows.map((t) => t.currency))].map((currency): InvoicingRow => {
    const sum = (channel: (c: string) => boolean) =>
      money(
        totalRows
          .filter((t) => t.currency === currency && channel(t.billingChannel))
          .reduce((s, t) => s.plus(dec(t.amount)), ZERO),
        currency,
      );
    return {
      currency,
      weInvoice: sum((c) => c !== "azure-marketplace"),
      microsoftInvoices: sum((c) => c === "azure-marketplace"),
    };
  });
  const byAmountDesc = (a: InvoiceLine, b: InvoiceLine) =>
    dec(b.amount).comparedTo(dec(a.amount)) ||
    compareStrings(a.product, b.product) ||
    compareStrings(a.dimensions, b.dimensions) ||
    compareStrings(a.line_id, b.line_id);
  // Every closed account, and (defensively) any account with lines whose report is missing.
  const sectionSources: ReportCloseSummary[] = [...reports];
  const reported = new Set(reports.map((r) => r.accountId));
  for (const [accountId, own] of linesOf)
    if (!reported.has(accountId) && own[0])
      sectionSources.push(
        emptyCloseSummary({
          accountId,
          period: input.period,
          billingChannel: own[0].billing_channel,
          currency: own[0].currency,
        }),
      );
  const accountSections = sectionSources
    .map((r): AccountSection => {
      const now = accounts.get(r.accountId).amount;
      const lines = [...(linesOf.get(r.accountId) ?? [])].sort(byAmountDesc);
      const before = previousClosed.has(r.accountId) ? previousAccounts.get(r.accountId).amount : undefined;
      return {
        accountId: r.accountId,
        billingChannel: r.billingChannel,
        currency: r.currency,
        amount: money(now, r.currency),
        ...(before !== undefined
          ? { previous: money(before, r.currency), change: money(now.minus(before), r.currency) }
          : {}),
        lines,
        ...(lines.length === 0 ? { noLineReason: noLineReason(r) } : {}),
      };
    })
    .sort(
      (a, b) =>
        compareStrings(a.currency, b.currency) ||
        dec(b.amount).comparedTo(dec(a.amount)) ||
        compareStrings(a.accountId, b.accountId),
    );
  const familyRows = families
    .keys()
    .map((key): FamilyRow => {
      const [currency = "", billingChannel = "", family = ""] = keyParts(key);
      const s = families.get(key);
      return { currency, billingChannel, family, amount: money(s.amount, currency), lines: s.lines };
    })
    .sort(
      (a, b) =>
        compareStrings(a.currency, b.currency) ||
        byInvoicer(a.billingChannel, b.billingChannel) ||
        dec(b.amount).comparedTo(dec(a.amount)) ||
        compareStrings(a.family, b.family),
    );
  return {
    period: input.period,
    previousPeriod: input.previousPeriod,
    previousClosed: previousClosed.size > 0 || input.previousLines.length > 0,
    closedAccounts: reports.length,
    invoicing,
    totals: totalRows,
    accounts: accountSections,
    families: familyRows,
    adjustments: input.lines
      .filter((l) => l.line_type === "adjustment")
      .sort(
        (a, b) =>
          compareStrings(a.account_id, b.account_id) ||
          compareStrings(a.reference_period, b.reference_period) ||
          compareStrings(a.line_id, b.line_id),
      ),
    suspense: reports.flatMap((r) => [
      ...r.suspense.samples.map((s) => ({ ...s, accountId: r.accountId, referencePeriod: r.period })),
      ...r.suspenseCarried.flatMap((c) =>
        c.items.samples.map((s) => ({ ...s, accountId: r.accountId, referencePeriod: c.referencePeriod })),
      ),
    ]),
    // Late conflicts (their first copy's period was already closed) carry that period as reference.
    conflicts: reports.flatMap((r) => [
      ...r.conflicts.samples.map((c) => ({ accountId: r.accountId, referencePeriod: r.period, ...c })),
      ...(r.lateConflicts?.samples ?? []).map((c) => ({ accountId: r.accountId, ...c })),
    ]),
    rejectedMessages: reports.flatMap((r) =>
      r.rejectedMessages.samples.map((m) => ({ accountId: r.accountId, ...m })),
    ),
    unclosed: [...(input.unclosed ?? [])].sort((a, b) => compareStrings(a.accountId, b.accountId)),
    counts: {
      suspense: reports.reduce(
        (n, r) => n + r.suspense.count + r.suspenseCarried.reduce((m, c) => m + c.items.count, 0),
        0,
      ),
      conflicts: reports.reduce((n, r) => n + r.conflicts.count + (r.lateConflicts?.count ?? 0), 0),
      rejectedMessages: reports.reduce((n, r) => n + r.rejectedMessages.count, 0),
    },
  };
}

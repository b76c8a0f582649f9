/**
 * What a close of an account-period reports and commits: the report (totals, adjustments, and its
 * lists at any size: a count, the first samples and where the whole list is stored), the outcome
 * when another run holds the account-period, and the closed state read back for exports. Plain
 * data: the use cases that write it (shared/app/close-period.ts, close-report.ts) and those that
 * read it (period-exports.ts, period-report.ts, the finance API, the CLI) all name it from here,
 * so none of them imports another for a type.
 */
import type { Account } from "../contract/accounts.js";
import type { InvoiceLine } from "../contract/invoice-line.js";
import type { PeriodId } from "./time.js";

/**
 * A list of the report: how many entries, the first ≤ 20, and where the whole list is. A list of
 * at most 20 entries is complete in `samples` (`chunks` 0, nothing stored).
 */
export interface ReportList<T> {
  readonly count: number;
  readonly samples: readonly T[];
  /** Stored chunks of the whole list (0: `samples` is the whole list). */
  readonly chunks: number;
  /** The stored list's name within the account-period's report (`readReportList`), or null. */
  readonly where: string | null;
}

export type SuspenseSummary = { product: string; reason: string; quantity: string; events: number };
/** Suspense groups (product, reason), with the number of events held over all of them. */
export type SuspenseList = ReportList<SuspenseSummary> & { readonly events: number };
export type ConflictEntry = { source: string; id: string; seenAt: string };
export type RejectedEntry = { deadLetterId: string; messageId: string; receivedAt: string; reason: string };

export interface ReportLists {
  readonly suspense: SuspenseList;
  readonly suspenseCarried: { referencePeriod: PeriodId; items: SuspenseList }[];
  readonly conflicts: ReportList<ConflictEntry>;
  readonly rejectedMessages: ReportList<RejectedEntry>;
}

export interface AccountCloseReport {
  readonly accountId: string;
  readonly period: PeriodId;
  readonly status: "closed" | "already-closed";
  readonly billingChannel: Account["billingChannel"];
  readonly currency: string;
  readonly closedAt: string;
  readonly events: number;
  readonly lines: number;
  readonly totals: {
    /** Sum of every line of this close; for azure-marketplace accounts Microsoft invoices it (rating-rules §6). */
    readonly amount: string;
    readonly invoicedByProvider: string;
    readonly byLineType: Record<string, string>;
  };
  readonly adjustments: { referencePeriod: PeriodId; amount: string; lines: number }[];
  /** Lists of any length: count, the first 20, and the whole list's stored chunks (shared/app/close-report.ts). */
  readonly suspense: SuspenseList;
  /** G10: suspense of earlier closed periods still unpriced after re-rating them at this close. */
  readonly suspenseCarried: { referencePeriod: PeriodId; items: SuspenseList }[];
  /**
   * Earlier periods that hold usage but were never closed (e.g. usage from before the account's
   * first close). Not billed automatically (they may be context only, such as a window opened the
   * month before); listed so that nothing is silently left unbilled: close them explicitly.
   */
  readonly unclosedEarlierPeriods: { period: PeriodId; events: number }[];
  /** Conflicts whose first-stored event falls in the period (G5). */
  readonly conflicts: ReportList<ConflictEntry>;
  /**
   * Conflicts (G5) whose first copy belongs to an earlier period that was already closed when they
   * arrived, not listed by any report yet: how many, which reference periods, the first 20.
   * Absent from reports written before late conflicts were reported.
   */
  readonly lateConflicts?: {
    readonly count: number;
    readonly referencePeriods: PeriodId[];
    readonly samples: { referencePeriod: PeriodId; source: string; id: string; seenAt: string }[];
  };
  /** Dead letters naming the account as subject, received in the period. */
  readonly rejectedMessages: ReportList<RejectedEntry>;
  readonly compliance: Record<string, unknown>;
}

/** Another run holds this account-period's claim: this run wrote nothing for it. */
export interface BeingClosed {
  readonly accountId: string;
  readonly period: PeriodId;
  readonly status: "being-closed";
  readonly claimedBy: string;
  readonly startedAt: string;
  /** When a crashed claimant's claim may be taken over by a new run. */
  readonly leaseUntil?: string;
}

export type AccountCloseOutcome = AccountCloseReport | BeingClosed;

export const isCloseReport = (o: AccountCloseOutcome): o is AccountCloseReport => o.status !== "being-closed";

/** What an account's close of a period committed: its report, when, and the lines it emitted. */
export interface ClosedAccount {
  readonly report: AccountCloseReport;
  readonly closedAt: number;
  readonly lines: readonly InvoiceLine[];
}

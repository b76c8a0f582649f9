/**
 * Accounts with usage in a period that is not closed yet, read by period (never from the
 * configuration): ingest enters an account-period when it first marks the period's usage, the
 * close removes it. The close scheduler closes what it lists once the period has ended, whatever
 * the configuration says now (an account removed, added after its zone's fan-out, or moved to
 * another zone), and counts the entries overdue for the CloseOverdue alarm.
 */
import type { PeriodId } from "../core/time.js";

export interface UnclosedUsage {
  readonly accountId: string;
  readonly period: PeriodId;
  /** The period's end for the account when its usage was first stored (epoch ms). */
  readonly end: number;
  /** A close request found no configuration of the account at all: why, and since when. */
  readonly suspended?: { readonly reason: string; readonly at: number };
}

export interface UnclosedUsageIndex {
  /** Every account-period of `period` with usage and no close yet (16 key Queries, no scan). */
  unclosedUsage(period: PeriodId): Promise<UnclosedUsage[]>;
  /**
   * An ended account received a late event after its last close (contract §2): the account-period
   * that will bill its adjustments is entered, so that the scheduler closes it once it ends. An
   * entry already there is kept as it is (idempotent).
   */
  adjustmentDue(accountId: string, period: PeriodId, end: number): Promise<void>;
  /** The account-period is closed: it leaves the index (idempotent). */
  usageClosed(accountId: string, period: PeriodId): Promise<void>;
  /**
   * A close request that cannot be served (no configuration of the account at all) is kept here,
   * never dropped: listed, counted overdue, requested again each hour until a configuration exists.
   */
  suspendClose(accountId: string, period: PeriodId, reason: string, at: number): Promise<void>;
}

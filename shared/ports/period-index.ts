/**
 * The period index: which accounts were closed for a period, read by key,
 * never by a table scan. The close enters an account when it marks the period closed (same
 * transaction), and records there what it exported to the bucket.
 */
import type { AccountExports } from "../core/period-exports.js";
import type { PeriodId } from "../core/time.js";

export interface PeriodIndexEntry {
  readonly accountId: string;
  readonly period: PeriodId;
  readonly closedAt: number;
  /**
   * The earlier reference periods whose adjustments the close billed in this period (its report's
   * `adjustments`), so a reader queries the account's lines without reading the close record first;
   * absent on entries written before it was recorded.
   */
  readonly references?: readonly PeriodId[];
  /** The account's objects in the exports bucket; absent until written (a crash in between). */
  readonly exports?: AccountExports;
}

/** An entry with its key in the index: the walk's order and where a later walk resumes. */
export interface KeyedPeriodIndexEntry extends PeriodIndexEntry {
  /** The account id, or `sha256:<hex>` of an id over 1,000 bytes (a sort key's limit). */
  readonly key: string;
}

export interface PeriodIndex {
  /** Every account closed for the period, in account id order. */
  closedAccounts(period: PeriodId): Promise<PeriodIndexEntry[]>;
  /**
   * The period's entries in key order from `fromKey` on (inclusive), read as they are taken: a walk
   * that stops after n entries reads about n entries plus a constant, whatever the period's size.
   */
  closedAccountsFrom(period: PeriodId, fromKey?: string): AsyncIterable<KeyedPeriodIndexEntry>;
  /** One account's entry (undefined: not closed for the period). */
  closedAccount(accountId: string, period: PeriodId): Promise<PeriodIndexEntry | undefined>;
  /**
   * Records the account's exported objects on its entry (idempotent: the same close, the same objects);
   * creates the entry of a period closed before the index existed.
   */
  markExported(entry: Required<Omit<PeriodIndexEntry, "references">>): Promise<void>;
  /** Periods for which at least one account was closed (or is being closed), in order. */
  closedPeriods(): Promise<PeriodId[]>;
  /**
   * Notes one more change of the period's exports (markExported notes it too, after the entry): a
   * re-delivered close notes it again, so a crash between the entry and the note is repaired.
   */
  notePeriodChanged(period: PeriodId): Promise<void>;
  /** The periods whose exports changed since their manifest was written, with their change count. */
  periodsToManifest(): Promise<{ period: PeriodId; changes: number }[]>;
  /** Records that the period's manifest was written from the index as of `changes` changes. */
  markManifested(period: PeriodId, changes: number): Promise<void>;
}

/**
 * The close fan-out: one message per (account, period) on the close queue; the
 * close worker closes each account on its own. The scheduler lists each zone's accounts and keeps a
 * cursor per zone so that a re-run is idempotent and a crashed run resumes.
 */
import type { PeriodId } from "../core/time.js";

/** One account-period to close: the body of a close-queue message. */
export interface CloseRequest {
  readonly accountId: string;
  readonly period: PeriodId;
}

export interface CloseQueue {
  /** Sends every request (batches of 10); throws if any could not be sent after retries. */
  enqueue(requests: readonly CloseRequest[]): Promise<void>;
}

/** How far the scheduler got with a zone: `period` fully enqueued (`done`) or up to `after`. */
export interface ZoneCursor {
  readonly period: PeriodId;
  readonly done: boolean;
  /** The last account id enqueued (ids are listed in order); none: nothing yet. */
  readonly after?: string;
}

/** One page of a zone's account ids, in id order; `next` continues after the last one. */
export interface ZoneAccountsPage {
  readonly accountIds: string[];
  readonly next?: string;
}

/** What the scheduler reads and remembers: the zone index of the configuration and its cursors. */
export interface CloseScheduleStore {
  /** The time zones some configured account uses. */
  zones(): Promise<string[]>;
  /** A page of the ids of a zone's accounts in id order, after `after` (exclusive). */
  accountsInZone(zone: string, opts?: { after?: string; limit?: number }): Promise<ZoneAccountsPage>;
  cursor(zone: string): Promise<ZoneCursor | undefined>;
  saveCursor(zone: string, cursor: ZoneCursor): Promise<void>;
}

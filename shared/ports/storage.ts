/**
 * Storage ports of the billing core. The DynamoDB adapter (shared/adapters/dynamodb) implements
 * them for Lambda and for the local stack; nothing else stores billing state.
 */
import type { InvoiceLine } from "../contract/invoice-line.js";
import type { BillingConfig } from "../core/config.js";
import { BillingError } from "../core/errors.js";
import type { LineExplanation } from "../core/rating/explain/explain.js";
import type { LedgerEvent } from "../core/rating/types.js";
import type { PeriodId } from "../core/time.js";
import type { UsageStore } from "./usage-store.js";

/**
 * The account's raw events, as the Marketplace reporter and reconciliation read them. Events are
 * written by the usage store (usage-store.ts): Marketplace accounts keep every event raw
 * (counters.ts). The hourly reporter reads only the billing months in play and the carry-over
 * snapshot at their start (app/marketplace-ledger.ts), never the account's whole history.
 */
export interface LedgerStore extends Pick<UsageStore, "usageMarkers" | "statefulEventsOf" | "snapshotAt"> {
  /**
   * The account's raw events with t < until (all earlier periods included): what a simulation
   * moving its clock far ahead looks for hours to run at (`reportMarketplaceUsageUntil`).
   */
  eventsOf(accountId: string, until: number): Promise<LedgerEvent[]>;
}

export interface CloseRecord {
  readonly accountId: string;
  readonly period: PeriodId;
  readonly status: "closing" | "closed";
  readonly startedAt: number;
  /** The run that holds (or last held) the claim on this account-period. */
  readonly owner?: string;
  /** A "closing" claim may be taken over by another run once this instant has passed (a crashed run). */
  readonly leaseUntil?: number;
  readonly closedAt?: number;
  readonly report?: unknown;
}

/** One close run's claim on an account-period: the token it writes under and its lease. */
export interface CloseClaim {
  readonly owner: string;
  readonly startedAt: number;
  readonly leaseUntil: number;
}

export type ClaimOutcome =
  /** `takenOver`: the claim replaced a crashed run's (which may have written lines), false when fresh. */
  | { readonly kind: "claimed"; readonly takenOver?: boolean }
  /** Already closed: immutable (G7), nothing may be written. */
  | { readonly kind: "closed"; readonly record: CloseRecord }
  /** Another run holds a live claim: this run must not write anything. */
  | { readonly kind: "claimed-by-other"; readonly record: CloseRecord };

/** One chunk (≤ 1,000 entries, ≤ 100 KB of JSON) of a close report's full list. */
export interface ReportChunk {
  readonly list: string;
  readonly chunk: number;
  readonly entries: readonly unknown[];
}

/** A closed period that received late events (G7), or still holds suspense (G10). */
export interface LateMarker {
  readonly period: PeriodId;
  readonly markedAt: number;
  /**
   * A late event may change later closed periods too (its type carries state, products/<family>/index.ts).
   * A marker written before the flag existed reads as true: following it forward is always exact.
   */
  readonly later: boolean;
}

/** Period state: closes, late-event markers (G7) and the invoice lines each close emitted. */
export interface PeriodStore {
  getClose(accountId: string, period: PeriodId): Promise<CloseRecord | undefined>;
  /**
   * Claims the account-period for one close run, atomically: succeeds when there is no close record,
   * or a "closing" one whose lease has passed at `now` (its run crashed); never on a closed period
   * or a live claim of another run.
   */
  claimClose(accountId: string, period: PeriodId, claim: CloseClaim, now: number): Promise<ClaimOutcome>;
  /**
   * Writes the lines this close emits (period = `period`), and removes lines of an earlier crashed
   * attempt at this period that are not among them, each write only while `owner` still holds the
   * "closing" claim. Returns false, having written nothing more, once the claim is lost.
   */
  writeCloseLines(
    accountId: string,
    period: PeriodId,
    owner: string,
    lines: InvoiceLine[],
    /**
     * `fresh`: no earlier attempt at this period wrote lines (a fresh claim), so none are looked for.
     * `flagUsage`: the period's usage marker (which exists) is flagged closed with the lines, so a
     *   later close skips its record.
     * `explanations`: each line's explanation, written in the same transactions (a small close is one write).
     */
    opts?: { fresh?: boolean; flagUsage?: boolean; explanations?: readonly LineExplanation[] },
  ): Promise<boolean>;
  /**
   * Marks the period closed with its report, only if `owner` still holds the "closing" claim, and
   * enters the account in the period index (period-index.ts) in the same write. `listPeriod`
   * (default true) also lists the period among those with closes; false when the account's exports,
   * recorded next, list it (PeriodIndex.markExported). `references`: the earlier reference
   * periods the close adjusted, kept on the index entry for readers of the lines.
   */
  finishClose(
    accountId: string,
    period: PeriodId,
    owner: string,
    at: number,
    report: unknown,
    opts?: { listPeriod?: boolean; references?: readonly PeriodId[] },
  ): Promise<boolean>;
  /**
   * Marks a closed period as having received late events (G7). `later`: one of them carries state
   * into later periods (products/<family>/index.ts), so the next close follows it forward; once set, it stays
   * set until the marker is cleared.
   */
  markLate(accountId: string, period: PeriodId, at: number, opts?: { later?: boolean }): Promise<void>;
  latePeriods(accountId: string): Promise<LateMarker[]>;
  clearLate(accountId: string, period: PeriodId, markedAt: number): Promise<void>;
  /**
   * Writes chunks of this close's report lists (close-report.ts), each write only while `owner` still
   * holds the "closing" claim, and removes chunks of a crashed earlier attempt that this one does not
   * write (`keep`: the chunk count of each list). Returns false, having written nothing more, once the
   * claim is lost. Called with no chunks and `keep` to only remove stale ones.
   */
  writeReportChunks(
    accountId: string,
    period: PeriodId,
    owner: string,
    chunks: readonly ReportChunk[],
    keep?: Readonly<Record<string, number>>,
  ): Promise<boolean>;
  /** One stored chunk of a report list (undefined when there is none with that number). */
  readReportChunk(
    accountId: string,
    period: PeriodId,
    list: string,
    chunk: number,
  ): Promise<readonly unknown[] | undefined>;
  /** Every line emitted for a reference period, by any close. */
  linesForReference(accountId: string, referencePeriod: PeriodId): Promise<InvoiceLine[]>;
}

/**
 * A message that could not be rated, with its reason. Bounded whatever the message: the
 * excerpt is at most 8 KiB, the reason and subject are cut; the full body is `body` when it is no
 * longer than the excerpt, else in the blob store under `bodyKey`; `bodySha256` identifies it.
 */
export interface DeadLetter {
  readonly deadLetterId: string;
  readonly messageId: string;
  readonly receivedAt: number;
  readonly reason: string;
  /** The message's subject (≤ 1,024 characters; longer ones are left out). */
  readonly subject?: string;
  /**
   * What the sender needs to find the event: its CloudEvent source, id, type and subject as far as
   * they could be read from the body (each bounded). Not an index: `subject` alone files the letter
   * under its account, and a processing failure's letter names its event here without being filed.
   */
  readonly event?: EventReference;
  /** The body's first bytes (at most 8 KiB of UTF-8), for reading. */
  readonly excerpt: string;
  /** Size (UTF-8 bytes) and SHA-256 (hex) of the whole body. */
  readonly bodyBytes: number;
  readonly bodySha256: string;
  /** The whole body, when it is no longer than the excerpt. */
  readonly body?: string;
  /** Blob-store key of the whole body, when it is longer. Neither: only the excerpt was kept. */
  readonly bodyKey?: string;
}

/** A CloudEvent named by its attributes, each one present when the body had it as a string. */
export interface EventReference {
  readonly source?: string;
  readonly id?: string;
  readonly type?: string;
  readonly subject?: string;
}

/** What a close report lists of a dead letter (the account index holds only this). */
export interface AccountLetter {
  readonly deadLetterId: string;
  readonly messageId: string;
  readonly receivedAt: number;
  readonly reason: string;
}

/** Messages that cannot be rated as they are, with the reason; an operator lists and redrives them. */
export interface DeadLetterStore {
  put(letter: DeadLetter): Promise<void>;
  list(): Promise<DeadLetter[]>;
  remove(deadLetterId: string): Promise<void>;
  /**
   * The letters whose subject is the account, received in [from, until), oldest first, page by
   * page from a per-account index (never the whole list).
   */
  accountLetters(
    accountId: string,
    received: { readonly from: number; readonly until: number },
  ): AsyncIterable<AccountLetter>;
}

/** No accounts/tariffs were ever loaded: not transient, nothing can be rated until `billing config load`. */
export class NoConfigurationError extends BillingError {
  override readonly name = "NoConfigurationError";
  constructor() {
    super("no billing configuration loaded (run `billing config load` or `billing simulate`)");
  }
}

export interface ConfigStore {
  loadConfig(): Promise<BillingConfig>;
  /** A new version of each changed account, in force from `at` (default now); omitted ones end (contract §2). */
  saveConfig(config: BillingConfig, at?: number): Promise<void>;
}

/** A body the queue will never take (e.g. SQS: a forbidden character, over the size limit). */
export interface RefusedBody {
  /** Its index in the bodies given to send(). */
  readonly index: number;
  readonly reason: string;
}

/** The usage queue (SQS): where upstream systems, the CLI and redrives put usage messages. */
export interface UsageQueue {
  /** Sends every body it can; returns those the queue refuses for good (never retried, never thrown). */
  send(bodies: readonly string[]): Promise<{ refused: RefusedBody[] }>;
}

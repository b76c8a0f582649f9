/**
 * Storage ports of the billing core. The DynamoDB adapter (shared/adapters/dynamodb) implements
 * them for Lambda and for the local stack; nothing else stores billing state.
 */
import type { InvoiceLine } from "../contract/invoice-line.js";
import type { BillingConfig } from "../core/config.js";
import type { LedgerEvent } from "../core/rating/types.js";
import type { PeriodId } from "../core/time.js";

export interface ConflictRecord {
  readonly accountId: string;
  readonly source: string;
  readonly id: string;
  readonly firstHash: string;
  readonly conflictingHash: string;
  readonly conflictingBody: string;
  readonly seenAt: number;
  /** The event time of the first-stored version: the conflict is reported in that period. */
  readonly t: number;
}

/**
 * The account's raw events, as the hourly Marketplace reporter reads them. Events are written by
 * the usage store (usage-store.ts): Marketplace accounts keep every event raw (counters.ts).
 */
export interface LedgerStore {
  /** The account's raw events with t < until (all earlier periods included). */
  eventsOf(accountId: string, until: number): Promise<LedgerEvent[]>;
  conflictsOf(accountId: string): Promise<ConflictRecord[]>;
}

export interface CloseRecord {
  readonly accountId: string;
  readonly period: PeriodId;
  readonly status: "closing" | "closed";
  readonly startedAt: number;
  readonly closedAt?: number;
  readonly report?: unknown;
}

/** Period state: closes, late-event markers (G7) and the invoice lines each close emitted. */
export interface PeriodStore {
  getClose(accountId: string, period: PeriodId): Promise<CloseRecord | undefined>;
  /** Writes the "closing" record; returns false when the period is already closed (immutable, G7). */
  beginClose(accountId: string, period: PeriodId, at: number): Promise<boolean>;
  finishClose(
    accountId: string,
    period: PeriodId,
    at: number,
    lines: InvoiceLine[],
    report: unknown,
  ): Promise<void>;
  /** Marks a closed period as having received late events (G7). */
  markLate(accountId: string, period: PeriodId, at: number): Promise<void>;
  latePeriods(accountId: string): Promise<{ period: PeriodId; markedAt: number }[]>;
  clearLate(accountId: string, period: PeriodId, markedAt: number): Promise<void>;
  /** Every line emitted for a reference period, by any close. */
  linesForReference(accountId: string, referencePeriod: PeriodId): Promise<InvoiceLine[]>;
  allLines(): Promise<InvoiceLine[]>;
  allCloses(): Promise<CloseRecord[]>;
}

export interface DeadLetter {
  readonly deadLetterId: string;
  readonly messageId: string;
  readonly receivedAt: number;
  readonly reason: string;
  readonly body: string;
  readonly subject?: string;
}

/** Messages that cannot be rated as they are, with the reason; an operator lists and redrives them. */
export interface DeadLetterStore {
  put(letter: DeadLetter): Promise<void>;
  list(): Promise<DeadLetter[]>;
  remove(deadLetterId: string): Promise<void>;
}

export interface ConfigStore {
  loadConfig(): Promise<BillingConfig>;
  saveConfig(config: BillingConfig): Promise<void>;
}

/** The usage queue (SQS): where upstream systems, the CLI and redrives put usage messages. */
export interface UsageQueue {
  send(bodies: readonly string[]): Promise<void>;
}

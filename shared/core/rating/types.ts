/**
 * Types of the pure rating core. Rating happens at period close from the account's ledger
 * (docs/decisions.md): every rule is a pure function of the account and its events, so the
 * invoice lines cannot depend on arrival order, batching or retries (rating-rules G6).
 */
import type { Account } from "../../contract/accounts.js";
import type { Dec } from "../money.js";
import type { EventData, ProductCode, UsageEvent, UsageEventType } from "../products/registered.js";
import type { PeriodWindow } from "../time.js";

/** A usage event as stored in the ledger: validated, with its `time` as epoch ms. */
export type LedgerEvent = UsageEvent & { readonly t: number };
export type LedgerEventOf<T extends UsageEventType> = Extract<UsageEvent, { type: T }> & {
  readonly t: number;
};
export type { EventData };

export type Dimensions = Readonly<Record<string, string>>;

/** One chargeable quantity of a product, before pricing. */
export interface Charge {
  readonly product: ProductCode;
  /** Only the dimensions the event gives (G14), keys from the catalogue (rating-rules §1.1). */
  readonly dimensions: Dimensions;
  readonly quantity: Dec;
  /**
   * The instant whose tariff version prices this charge (G8): the event's `time` for a per-event
   * charge (a call's set-up time, G13), the period's first instant for a per-period charge.
   */
  readonly pricedAt: number;
  /** What produced it (event source/id, or a description of the period metric), for suspense and audit. */
  readonly ref: string;
  /** Viber sender whose minimum commitment this charge counts towards (rating-rules §3.1). */
  readonly commitmentServiceId?: string;
  /** Events summed into this charge (a monthly counter, counters.ts); 1 when absent. */
  readonly events?: number;
  /** A monthly counter's sample event identities (counters.ts; explanations only, never priced). */
  readonly samples?: readonly EventSample[];
}

/** A period's charges as the rules and counters gave them: those priced, and the blocked (G2). */
export interface PeriodCharges {
  readonly charges: readonly Charge[];
  /** Signals-blocked traffic: informational lines, never charged. */
  readonly blocked: readonly Charge[];
}

/** An event's identity (G5) and time, as an invoice line's explanation lists it (explain/). */
export interface EventSample {
  readonly source: string;
  readonly id: string;
  /** The event's `time` as sent. */
  readonly time: string;
  /** When it was stored (epoch ms): set on a counter's latest sample, to tell late events (G7). */
  readonly storedAt?: number;
}

/** A charge held in suspense (G10) or a figure a rule could not rate, with its reason. */
export interface SuspenseItem {
  readonly product: string;
  readonly reason: string;
  readonly ref: string;
  readonly quantity: Dec;
  readonly dimensions?: Dimensions;
  /** Events held in this item (a monthly counter, counters.ts); 1 when absent. */
  readonly events?: number;
}

export interface RuleInput {
  readonly account: Account;
  readonly period: PeriodWindow;
  /**
   * Every ledger event of the account with `t < period.end`, including earlier periods (windows,
   * sessions and resources carry over, G11/G12), in canonical order (G12, see ordering.ts).
   */
  readonly events: readonly LedgerEvent[];
  /**
   * The ledger events already known with `period.end ≤ t < period.end + RATING_LOOKAHEAD`
   * (engine.ts), in canonical order. A rule uses them only to complete a charge that belongs to
   * this period but depends on what follows its end: rating-rules §3.1, a Viber session opened in
   * the period is charged in it once a session message is delivered, even after the period ended.
   */
  readonly following?: readonly LedgerEvent[];
  /**
   * Facts carried from before the period that no carried event can express (carry.ts): present
   * when the period is rated from a carry-over snapshot instead of the whole history. `events`
   * then holds the snapshot's events (all before the period) followed by the period's own.
   */
  readonly carried?: CarriedRuleFacts;
}

/**
 * The per-rule facts of a carry-over snapshot (carry.ts builds them; see docs/decisions.md, "Close from
 * one period's state: carry-over snapshots").
 */
export interface CarriedRuleFacts {
  /** §5 fair use of the period just before (products/voice/rule.ts), computed when the snapshot was taken. */
  readonly previousFairUse?: FairUseFigure;
  /** §2.1 Answers sessions open at the period start: [JSON [botId, endUserId], last message instant]. */
  readonly answersSessions?: readonly (readonly [string, number])[];
  /** §5 recording-storage days of earlier periods already settled (charged, or reported before the period). */
  readonly storageDaysSettled?: readonly string[];
}

/** §5 SIP trunk unlimited fair use of one period (products/voice/rule.ts). */
export interface FairUseFigure {
  period: string;
  /** Billed outbound minutes of calls on trunks that were on plan unlimited_us at the call's time. */
  outboundMinutes: number;
  /** Σ over the unlimited_us trunks of each one's peak channel count in the period. */
  channels: number;
  /** outboundMinutes ÷ channels, 2 decimals (null without channels). */
  minutesPerChannel: string | null;
  breach: boolean;
  trunkIds: string[];
}

export interface RuleOutput {
  /** Charges that belong to this period. */
  readonly charges: Charge[];
  /** Signals-blocked traffic of this period (G2): reported as informational lines, never charged. */
  readonly blocked?: Charge[];
  readonly suspense?: SuspenseItem[];
  /**
   * Senders active in the period for a minimum commitment (rating-rules §3.1): a sender whose
   * messages were all covered by a session charged earlier is active without a charge of its own.
   */
  readonly commitmentSenders?: string[];
  /** Compliance figures for the close report (rating-rules §5), never charged. */
  readonly compliance?: Record<string, unknown>;
}

export type ProductRule = (input: RuleInput) => RuleOutput;

/** Helper for rules: the events of some types, typed. */
export function eventsOfType<T extends UsageEventType>(
  events: readonly LedgerEvent[],
  ...types: T[]
): LedgerEventOf<T>[] {
  const wanted = new Set<string>(types);
  return events.filter((e) => wanted.has(e.type)) as LedgerEventOf<T>[];
}

/** True when t lies in the period: [start, end). */
export const inPeriod = (t: number, p: PeriodWindow): boolean => t >= p.start && t < p.end;

/** Builds a dimensions record keeping only the keys that are present (G14). */
export function dims(values: Record<string, string | undefined>): Dimensions {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== "") out[k] = v;
  return out;
}

export const refOf = (e: { source: string; id: string }): string => `${e.source}#${e.id}`;

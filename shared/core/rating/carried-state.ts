/**
 * The state a product rule carries across a period start (carry.ts), one carrier per kind of
 * state. A rule names its carriers in its declaration (products/<family>/index.ts) and the carriers
 * live beside it (products/<family>/carry.ts); the carry-over snapshot runs the carriers of every
 * declared rule, and the types they carry are the ones whose late events can change later closed
 * periods (G7). Each carrier keeps a bounded subset of the real events before the start (`add`)
 * and may return facts no event can express (CarriedRuleFacts, types.ts).
 */
import type { Account } from "../../contract/accounts.js";
import type { PeriodId, PeriodWindow } from "../time.js";
import type { CarriedRuleFacts, LedgerEvent } from "./types.js";

/** What a carrier sees when the snapshot at the start of `periodId` is built. */
export interface CarryContext {
  readonly account: Account;
  readonly periodId: PeriodId;
  /** The period's first instant (S). */
  readonly start: number;
  /** The period before (its fair use, its Answers sessions). */
  readonly previousPeriod: PeriodWindow;
  /** The account's events before S that the caller has, in canonical order. */
  readonly all: readonly LedgerEvent[];
  /** The snapshot at the previous period's start, when `all` holds only that snapshot and the period's events. */
  readonly previous?: CarriedRuleFacts | undefined;
  /** Keeps an event in the snapshot. */
  readonly add: (e: LedgerEvent | undefined) => void;
}

/** One kind of carried state: keeps its events, returns its facts (if any). */
export type Carrier = (ctx: CarryContext) => Partial<CarriedRuleFacts> | undefined;

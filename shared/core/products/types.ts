/**
 * What a product family declares in its folder (shared/core/products/<family>/index.ts), and so
 * all that the engine, the monthly counters, the carry-over snapshot, late marking, event
 * validation and the catalogue know of it (docs/catalogue.md).
 */
import type { EventDataSchemas } from "../../contract/usage-event.js";
import type { Carrier } from "../rating/carried-state.js";
import type { LedgerEvent, ProductRule } from "../rating/types.js";
import type { UsageEventType } from "./registered.js";

/** The invoice line type a product's charges take (contract §4). */
export type ChargeLineType = "usage" | "recurring" | "one_time";

/** A catalogue row: one billable product code of rating-rules.md. */
export interface ProductDefinition {
  readonly lineType: ChargeLineType;
  /** Pricing dimensions (rating-rules §1.1); a charge carries only those the event gives (G14). */
  readonly dimensions: readonly string[];
  /** Sold as a monthly package (rating-rules §2) when the tariff version has one for it. */
  readonly packaged?: boolean;
  readonly unit: string;
  /** The rating-rules row behind the product, as an invoice line's explanation quotes it (explain/). */
  readonly explanation: RuleRow;
  /** Event types its quantity is computed from (an explanation's samples when a rule gives no identity). */
  readonly sources?: readonly string[];
}

/** A rating-rules row: the section, the chargeable event and how the quantity is computed. */
export interface RuleRow {
  /** The rating-rules section (and its table or heading). */
  readonly section: string;
  /** The chargeable event, in the spec's words. */
  readonly chargeableEvent: string;
  /** How the rule computes the quantity. */
  readonly quantity: string;
}

export type ProductRows = { readonly [code: string]: ProductDefinition };

/** One product rule and what it reads, carries and reaches (T: the event types it may name). */
export interface ProductRuleDeclaration<T extends string = UsageEventType> {
  /** As docs/catalogue.md names it. */
  readonly name: string;
  readonly rate: ProductRule;
  /**
   * Types each of whose events the rule charges on its own fields alone, whatever else happened:
   * candidates for the monthly counters (counters.ts), unless another rule reads them `together`.
   */
  readonly perEvent?: readonly T[];
  /** Types the rule reads together with other events (sessions, windows, distinct sets, peaks): kept raw. */
  readonly together?: readonly T[];
  /**
   * The state the rule carries across a period start: the types whose events it carries and the
   * carriers that keep them in the snapshot. A late event of one of these types can change every
   * later period its state reaches; an event of any other type changes only its own period (and
   * `reachesBack`). Absent: the rule reads nothing from before the period.
   */
  readonly carries?: { readonly types: readonly T[]; readonly carriers: readonly Carrier[] };
  /**
   * An earlier period an event can change: for an event `applies` to, the periods of
   * (t − within, t] (§3.1: a Viber session message completes the session its opener began up to
   * 24 h before, in the opener's period). A close reads this far past a period's end.
   */
  readonly reachesBack?: { readonly within: number; readonly applies: (e: LedgerEvent) => boolean };
}

/**
 * A product family: the `data` schema of each event type it owns (E), its catalogue rows (P) and
 * its rules in rating order. Its rules may read the types of other families too (voice reads
 * resource activations).
 */
export interface ProductFamily<
  E extends EventDataSchemas = EventDataSchemas,
  P extends ProductRows = ProductRows,
> {
  readonly name: string;
  readonly events: E;
  readonly products: P;
  readonly rules: readonly ProductRuleDeclaration<UsageEventType | (keyof E & string)>[];
}

/**
 * Any family, as the catalogue factory takes them (product-catalogue.ts): the event types of its
 * rules are plain strings there, checked against the families' schemas when the catalogue is built.
 */
export interface RegisteredFamily {
  readonly name: string;
  readonly events: EventDataSchemas;
  readonly products: ProductRows;
  readonly rules: readonly ProductRuleDeclaration<string>[];
}

/** Shorthands for catalogue rows (types.ts ProductDefinition), as the families write them. */
import type { ProductDefinition } from "./types.js";

export type Row = Omit<ProductDefinition, "explanation">;

export const usage = (unit: string, dimensions: readonly string[] = []): Row => ({
  lineType: "usage",
  dimensions,
  unit,
});
export const recurring = (unit: string, dimensions: readonly string[] = []): Row => ({
  lineType: "recurring",
  dimensions,
  unit,
});
export const oneTime = (unit: string, dimensions: readonly string[] = []): Row => ({
  lineType: "one_time",
  dimensions,
  unit,
});
/** Sold as a monthly package (rating-rules §2) when the tariff version has one for it. */
export const packaged = (row: Row): Row => ({ ...row, packaged: true });

/**
 * A product charged per event (rating-rules' "1 per chargeable event"): its explanation counts in
 * the row's own unit.
 */
export const perEvent = (row: Row, section: string, chargeableEvent: string): ProductDefinition => ({
  ...row,
  explanation: {
    section,
    chargeableEvent,
    quantity: `1 per chargeable event (${row.unit}), summed per dimensions, tariff version and unit price`,
  },
});

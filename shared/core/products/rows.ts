/** Shorthands for catalogue rows (types.ts ProductDefinition), as the families write them. */
import type { ProductDefinition } from "./types.js";

export const usage = (unit: string, dimensions: readonly string[] = []): ProductDefinition => ({
  lineType: "usage",
  dimensions,
  unit,
});
export const recurring = (unit: string, dimensions: readonly string[] = []): ProductDefinition => ({
  lineType: "recurring",
  dimensions,
  unit,
});
export const oneTime = (unit: string, dimensions: readonly string[] = []): ProductDefinition => ({
  lineType: "one_time",
  dimensions,
  unit,
});
/** Sold as a monthly package (rating-rules §2) when the tariff version has one for it. */
export const packaged = (row: ProductDefinition): ProductDefinition => ({ ...row, packaged: true });

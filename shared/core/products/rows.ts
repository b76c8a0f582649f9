/** Shorthands for catalogue rows (types.ts ProductDefinition), as the families write them. */
import type { ProductDefinition, RuleRow } from "./types.js";

type Row = Omit<ProductDefinition, "explanation">;

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

/** Explanation rows (RuleRow) of the common kinds. */
export const explainPerEvent = (section: string, chargeableEvent: string, unit = "message"): RuleRow => ({
  section,
  chargeableEvent,
  quantity: `1 per chargeable event (${unit}), summed per dimensions, tariff version and unit price`,
});
export const explainMt = (name: string) =>
  explainPerEvent("§3 SMS/MMS", `${name} MT accepted and validated for forwarding (status submitted)`);
export const explainMo = (name: string) =>
  explainPerEvent("§3", `${name} MO accepted by the platform (status accepted)`);
export const explainActiveUsers = (channel: string): RuleRow => ({
  section: `§3 ${channel}`,
  chargeableEvent: `distinct end users with at least one delivered ${channel} message in the period`,
  quantity: "count of distinct endUserId (blocked-only users are informational, G2)",
});
export const explainResourceFee = (what: string): RuleRow => ({
  section: "§4, G11",
  chargeableEvent: `${what} active at any moment of the period ([activated, deactivated))`,
  quantity: "1 per resource active in the period, no proration",
});

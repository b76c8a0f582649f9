/** Shorthands for a family's declaration (index.ts), as the families write them. */
import type { EventDataSchemas } from "../../contract/usage-event.js";
import type { Carrier } from "../rating/carried-state.js";
import type { UsageEventType } from "./registered.js";
import type { ProductFamily, ProductRows, ProductRuleDeclaration } from "./types.js";

/** A family: its name, event schemas and catalogue rows, and its rules in rating order. */
export const productFamily = <E extends EventDataSchemas, P extends ProductRows>(
  name: string,
  events: E,
  products: P,
  rules: readonly ProductRuleDeclaration<UsageEventType | (keyof E & string)>[],
): ProductFamily<E, P> => ({ name, events, products, rules });

/**
 * A rule that reads `types` together and keeps all of them across a period start (windows,
 * sessions, timelines): what it reads is what it carries.
 */
export const carriedTogether = <T extends string>(types: readonly T[], carriers: readonly Carrier[]) => ({
  together: types,
  carries: { types, carriers },
});

/**
 * The types of the built-in products: the event types with their `data`, and the product codes.
 * Each built-in family adds its own to the two interfaces below from its folder (schema.ts and
 * catalogue.ts, by declaration merging), so a rule is typed by every family's events while this
 * module imports no family (the registry, index.ts, imports the families; the rules import these
 * types; nothing goes round). index.ts checks at compile time that they are exactly the registry's.
 */
import type { z } from "zod";
import type { UsageEventOf } from "../../contract/usage-event.js";

/** Event type → its `data` schema, one entry per built-in type (each family's schema.ts adds its own). */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the families' declaration merging
export interface BuiltInEventSchemas {}
/** Product code → its catalogue row, one entry per built-in product (each family's catalogue.ts adds its own). */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the families' declaration merging
export interface BuiltInProductRows {}

export type UsageEventType = keyof BuiltInEventSchemas & string;
export type EventData<T extends UsageEventType> = z.infer<BuiltInEventSchemas[T]>;
/** A validated usage message: the envelope with `data` narrowed by `type`. */
export type UsageEvent = UsageEventOf<BuiltInEventSchemas>;
export type ProductCode = keyof BuiltInProductRows & string;

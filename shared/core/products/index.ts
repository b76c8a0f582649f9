/**
 * The product registry: every built-in product family, in rating order, one row each. Each family
 * lives in its own folder (docs/catalogue.md): its rule (rule.ts), the `data` schema of its event
 * types (schema.ts), its catalogue rows (catalogue.ts), the state it carries (carry.ts) and its
 * declaration (index.ts: which types it counts, reads together, carries, and reaches back to).
 * Everything that depends on products is derived from this list through `productCatalogue`, so a
 * new product is its folder plus one row here:
 * - usage message validation: the event types and their `data` schemas (`parseUsageMessage`);
 * - the catalogue: product codes, line types, units, dimensions (catalogue.ts re-exports it);
 * - the monthly counters (counters.ts COUNTED_TYPES): types read only one event at a time;
 * - the carry-over snapshot (carry.ts): the carriers of every rule;
 * - late marking at ingest (engine.ts periodsChangedBy, `changesLaterPeriods`) and the close's
 *   re-rating of later closed periods whose carried state changed;
 * - the close's look-ahead past a period's end (engine.ts RATING_LOOKAHEAD).
 * test/unit/rules/declarations.test.ts checks each declaration against what the rule really reads.
 */
import { usageEventSchemaFor } from "../../contract/usage-event.js";
import type { ProductRule } from "../rating/types.js";
import { messaging } from "./messaging/index.js";
import { type ProductCatalogue, productCatalogue } from "./product-catalogue.js";
import { recording } from "./recording/index.js";
import type { BuiltInEventSchemas, BuiltInProductRows, UsageEvent, UsageEventType } from "./registered.js";
import { resources } from "./resources/index.js";
import { saas } from "./saas/index.js";
import type { ProductRuleDeclaration } from "./types.js";
import { viber } from "./viber/index.js";
import { voice } from "./voice/index.js";
import { whatsapp } from "./whatsapp/index.js";

export const builtInFamilies = [messaging, viber, whatsapp, voice, recording, saas, resources] as const;

/** The catalogue of the built-in families: what every caller uses unless it is handed another. */
export const builtInProducts: ProductCatalogue = productCatalogue(builtInFamilies);

type Families = (typeof builtInFamilies)[number];
type Intersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/**
 * The static types (registered.ts) are the registry's: a family that adds its types there without
 * its row here (or the reverse) fails to compile.
 */
const registeredAsListed: [
  Same<keyof BuiltInEventSchemas, keyof Intersection<Families["events"]>>,
  Same<keyof BuiltInProductRows, keyof Intersection<Families["products"]>>,
] = [true, true];
void registeredAsListed;

/** `data` schema per CloudEvents `type`, from every family. */
export const eventDataSchemas = builtInProducts.eventDataSchemas as unknown as BuiltInEventSchemas;
export const usageEventTypes = builtInProducts.eventTypes as UsageEventType[];
export type { EventData, ProductCode, UsageEvent, UsageEventType } from "./registered.js";

/** The CloudEvents envelope, with `data` checked only as an object (the per-type check follows). */
export const cloudEventEnvelopeSchema = builtInProducts.envelopeSchema;
/** The full schema, a discriminated union over `type` (used for JSON Schema generation). */
export const usageEventSchema = usageEventSchemaFor(builtInProducts.eventDataSchemas);
/** Parses one SQS message body into a UsageEvent, or throws InvalidUsageMessageError with a readable reason. */
export const parseUsageMessage = builtInProducts.parseUsageMessage as (body: string) => UsageEvent;

/** The catalogue rows of every family: product code → line type, dimensions, unit. */
export const catalogue = builtInProducts.definitions as unknown as BuiltInProductRows;

export const productRuleDeclarations: readonly ProductRuleDeclaration[] = builtInFamilies.flatMap(
  (f): readonly ProductRuleDeclaration[] => f.rules as readonly ProductRuleDeclaration[],
);
export const productRules: readonly ProductRule[] = builtInProducts.rules;

/** True when a late event of this type can change closed periods after its own (G7). */
export const changesLaterPeriods = (type: string, products: ProductCatalogue = builtInProducts): boolean =>
  products.carriedTypes.has(type);

export { type ProductCatalogue, ProductCatalogueError, productCatalogue } from "./product-catalogue.js";
export type { ChargeLineType, ProductDefinition, ProductFamily, ProductRuleDeclaration } from "./types.js";

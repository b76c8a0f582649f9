/**
 * The product catalogue built from a list of product families: one pure factory from which the
 * engine, the monthly counters, the carry-over snapshot, late marking at ingest, usage message
 * validation and tariff validation all take what they know of products. The built-in catalogue is
 * `productCatalogue(builtInFamilies)` (index.ts); a test registers a product of its own the same
 * way, `productCatalogue([...builtInFamilies, itsFamily])`, and hands the result to the functions
 * that take one (docs/catalogue.md).
 */
import {
  type EventDataSchemas,
  envelopeSchemaFor,
  type UsageEventOf,
  usageMessageParser,
} from "../../contract/usage-event.js";
import { BillingError } from "../errors.js";
import type { Carrier } from "../rating/carried-state.js";
import type { LedgerEvent, ProductRule } from "../rating/types.js";
import type { ProductDefinition, ProductRuleDeclaration, RegisteredFamily } from "./types.js";

/** A family list that cannot make a consistent catalogue (a programming error, found at start-up). */
export class ProductCatalogueError extends BillingError {
  override readonly name = "ProductCatalogueError";
}

export interface ProductCatalogue {
  readonly families: readonly RegisteredFamily[];
  /** Every rule with its declaration, in rating order (the families' order, then each family's). */
  readonly declarations: readonly ProductRuleDeclaration<string>[];
  readonly rules: readonly ProductRule[];
  /** The `data` schema of each event type, from the families that own them. */
  readonly eventDataSchemas: EventDataSchemas;
  readonly eventTypes: readonly string[];
  /** The CloudEvents envelope with `type` one of `eventTypes`. */
  readonly envelopeSchema: ReturnType<typeof envelopeSchemaFor<string>>;
  /** An SQS message body into a usage message, or InvalidUsageMessageError. */
  readonly parseUsageMessage: (body: string) => UsageEventOf<EventDataSchemas>;
  /** The catalogue rows: product code → line type, dimensions, unit. */
  readonly definitions: Readonly<Record<string, ProductDefinition>>;
  readonly productCodes: readonly string[];
  /** Products whose period quantity can be sold as a package (rating-rules §2). */
  readonly packagedProducts: readonly string[];
  /** Types read only one event at a time by every rule that reads them: counted in monthly counters. */
  readonly countedTypes: ReadonlySet<string>;
  /** Types whose state a rule carries across a period start: their late events reach later periods (G7). */
  readonly carriedTypes: ReadonlySet<string>;
  /** Every declared carrier, once (two rules may carry the same state, e.g. resources). */
  readonly carriers: readonly Carrier[];
  /** How far past a period's end events can still change its charges: the longest `reachesBack`. */
  readonly longestReachBack: number;
  /** The earliest instant whose period the event can change: its own time, or a rule's `reachesBack`. */
  readonly earliestChangedInstant: (e: LedgerEvent) => number;
}

/** Each key once over a list of records, or the error that names the duplicate. */
function merged<V>(what: string, parts: readonly [string, Readonly<Record<string, V>>][]): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [family, part] of parts)
    for (const [k, v] of Object.entries(part)) {
      if (Object.hasOwn(out, k))
        throw new ProductCatalogueError(`${what} "${k}" of ${family} is declared twice`);
      out[k] = v;
    }
  return out;
}

const readTypes = (r: ProductRuleDeclaration<string>) => [...(r.perEvent ?? []), ...(r.together ?? [])];

/**
 * The catalogue of these families. Throws ProductCatalogueError when two families own the same
 * event type or product code, a rule names a type no family owns or carries one it does not read,
 * or a type is read by no rule (it would be accepted and never billed).
 */
export function productCatalogue(families: readonly RegisteredFamily[]): ProductCatalogue {
  const eventDataSchemas = merged(
    "event type",
    families.map((f) => [f.name, f.events]),
  );
  const definitions = merged(
    "product",
    families.map((f) => [f.name, f.products]),
  );
  const declarations: readonly ProductRuleDeclaration<string>[] = families.flatMap((f) => f.rules);
  const eventTypes = Object.keys(eventDataSchemas);
  for (const r of declarations) {
    const read = readTypes(r);
    for (const t of [...read, ...(r.carries?.types ?? [])])
      if (!Object.hasOwn(eventDataSchemas, t))
        throw new ProductCatalogueError(`rule "${r.name}" names event type "${t}", which no family owns`);
    for (const t of r.carries?.types ?? [])
      if (!read.includes(t))
        throw new ProductCatalogueError(`rule "${r.name}" carries "${t}" but does not read it`);
  }
  const read = new Set(declarations.flatMap(readTypes));
  const unread = eventTypes.filter((t) => !read.has(t));
  if (unread.length > 0)
    throw new ProductCatalogueError(`event types read by no rule (never billed): ${unread.join(", ")}`);

  const carriedTypes: ReadonlySet<string> = new Set(declarations.flatMap((r) => r.carries?.types ?? []));
  const productCodes = Object.keys(definitions);
  return {
    families,
    declarations,
    rules: declarations.map((r) => r.rate),
    eventDataSchemas,
    eventTypes,
    envelopeSchema: envelopeSchemaFor(eventTypes),
    parseUsageMessage: usageMessageParser(eventDataSchemas),
    definitions,
    productCodes,
    packagedProducts: productCodes.filter((p) => definitions[p]?.packaged === true),
    countedTypes: new Set(
      declarations
        .flatMap((r) => r.perEvent ?? [])
        .filter((t) => !declarations.some((r) => r.together?.includes(t) || r.carries?.types.includes(t))),
    ),
    carriedTypes,
    carriers: [...new Set(declarations.flatMap((r) => r.carries?.carriers ?? []))],
    longestReachBack: Math.max(0, ...declarations.map((r) => r.reachesBack?.within ?? 0)),
    earliestChangedInstant: (e) => {
      let earliest = e.t;
      for (const r of declarations)
        if (r.reachesBack?.applies(e)) earliest = Math.min(earliest, e.t - r.reachesBack.within + 1);
      return earliest;
    },
  };
}

/**
 * Usage message contract (contract.md §1): one CloudEvents 1.0 event, structured JSON mode.
 * Unknown extra keys in `data` are kept (passthrough) but ignored by rating.
 */
import { z } from "zod";
import { isoInstant } from "./common.js";
import { BillingError } from "./errors.js";

/**
 * The `data` schema of each CloudEvents `type` a catalogue accepts. Each product family declares
 * those of its own types (shared/core/products/<family>/schema.ts); the product registry
 * (shared/core/products/index.ts) gathers them, so the contract here stays the envelope and the
 * way a message is checked, whatever the product.
 */
export type EventDataSchemas = { readonly [type: string]: z.ZodType<Record<string, unknown>> };
export type EventTypeOf<S> = keyof S & string;

/**
 * The CloudEvents envelope for these event types, with `data` checked only as an object (the
 * per-type check follows).
 */
export const envelopeSchemaFor = <T extends string>(types: readonly T[]) =>
  z.object({
    specversion: z.literal("1.0"),
    id: z.string().min(1).max(256),
    /** At most 1,024 bytes of UTF-8 (a policy): with `id` it keys the ledger. */
    source: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[^\s]+$/, "URI-reference without white space")
      .refine((s) => Buffer.byteLength(s) <= 1024, "at most 1024 bytes (UTF-8)"),
    // An unknown type names itself: the sender sees which type the catalogue lacks, not a list of
    // every type it has (a missing or non-string type keeps zod's "expected one of" list).
    type: z.enum(types as [T, ...T[]], {
      error: (iss) =>
        typeof iss.input === "string"
          ? `unknown event type ${JSON.stringify(iss.input)}: not a product of the catalogue`
          : undefined,
    }),
    subject: z.string().min(1),
    time: isoInstant,
    datacontenttype: z.string().optional(),
    dataschema: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
  });

type Envelope = Omit<z.infer<ReturnType<typeof envelopeSchemaFor<string>>>, "type" | "data">;
/** A validated usage message of one of the types of S: the envelope with `data` narrowed by `type`. */
export type UsageEventOf<S extends { readonly [K in keyof S]: z.ZodType<Record<string, unknown>> }> = {
  [T in EventTypeOf<S>]: Envelope & { type: T; data: z.infer<S[T]> };
}[EventTypeOf<S>];

/** The full schema, a discriminated union over `type` (used for JSON Schema generation). */
export const usageEventSchemaFor = (schemas: EventDataSchemas) => {
  const envelope = envelopeSchemaFor(Object.keys(schemas));
  return z.discriminatedUnion(
    "type",
    Object.entries(schemas).map(([t, data]) => envelope.extend({ type: z.literal(t), data })) as unknown as [
      z.ZodObject,
      ...z.ZodObject[],
    ],
  );
};

export class InvalidUsageMessageError extends BillingError {
  override readonly name = "InvalidUsageMessageError";
  constructor(
    readonly reason: string,
    readonly issues: { path: string; message: string }[] = [],
    options?: ErrorOptions,
  ) {
    super(reason, options);
  }
}

const describe = (issues: z.core.$ZodIssue[], prefix: string) =>
  issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join("."),
    message: i.message,
  }));

/**
 * The parser of SQS message bodies for these `data` schemas: each body into a usage message, or
 * InvalidUsageMessageError with a readable reason.
 */
export function usageMessageParser<S extends EventDataSchemas>(
  schemas: S,
): (body: string) => UsageEventOf<S> {
  const envelope = envelopeSchemaFor(Object.keys(schemas));
  return (body) => parseWith(envelope, schemas, body) as UsageEventOf<S>;
}

function parseWith(
  envelope: ReturnType<typeof envelopeSchemaFor<string>>,
  schemas: EventDataSchemas,
  body: string,
): unknown {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    throw new InvalidUsageMessageError(`body is not JSON: ${(e as Error).message}`, [], { cause: e });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new InvalidUsageMessageError("body is not a JSON object");
  const env = envelope.safeParse(json);
  if (!env.success) {
    const issues = describe(env.error.issues, "");
    throw new InvalidUsageMessageError(
      `invalid CloudEvents envelope: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
      issues,
    );
  }
  const type = env.data.type;
  const parsed = schemas[type]!.safeParse(env.data.data);
  if (!parsed.success) {
    const issues = describe(parsed.error.issues, "data");
    throw new InvalidUsageMessageError(
      `invalid data for ${type}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      issues,
    );
  }
  return { ...env.data, data: parsed.data };
}

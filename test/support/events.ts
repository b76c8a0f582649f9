/**
 * Typed builders of ledger events, accounts and tariffs for tests (issue 13). `ev` is typed by the
 * contract's zod schemas (`z.input` of the `data` schema of each CloudEvents `type`) and validates
 * through them, so a test cannot feed the rules data the contract would reject: such data fails to
 * compile, and if it is built dynamically, the factory throws. A test of rejection builds its raw
 * JSON itself (contract.test.ts, input-bounds.test.ts), never through `ev`.
 */
import type { z } from "zod";
import { type Account, type AccountInput, accountSchema } from "../../shared/contract/accounts.js";
import { instantOf } from "../../shared/contract/common.js";
import type { Tariff } from "../../shared/contract/tariffs.js";
import { tariffSchema } from "../../shared/contract/tariffs.js";
import { parseTariffs } from "../../shared/core/config.js";
import {
  cloudEventEnvelopeSchema,
  eventDataSchemas,
  type UsageEventType,
} from "../../shared/core/products/index.js";
import type { LedgerEventOf } from "../../shared/core/rating/types.js";

/** What a test writes as the `data` of an event of type T (the schema's input: optional keys may be left out). */
export type EventInput<T extends UsageEventType> = z.input<(typeof eventDataSchemas)[T]>;
/** The envelope fields a test may set; the rest get defaults (subject acme, source /test, a fresh id). */
export type EnvelopeInput = Partial<{ id: string; source: string; subject: string }>;

let seq = 0;
/**
 * A validated ledger event of type `type` at `time`, `t` computed as ingestion does (instantOf).
 * The last argument is the event id, or envelope fields.
 */
export function ev<T extends UsageEventType>(
  type: T,
  time: string,
  data: EventInput<T>,
  extraOrId: string | EnvelopeInput = {},
): LedgerEventOf<T> {
  seq += 1;
  const extra = typeof extraOrId === "string" ? { id: extraOrId } : extraOrId;
  const envelope = cloudEventEnvelopeSchema.parse({
    specversion: "1.0",
    id: extra.id ?? `e${String(seq).padStart(6, "0")}`,
    source: extra.source ?? "/test",
    type,
    subject: extra.subject ?? "acme",
    time,
    data,
  });
  const parsed = eventDataSchemas[type].safeParse(data);
  if (!parsed.success)
    throw new Error(`test event ${type} at ${time}: the contract rejects its data: ${parsed.error.message}`);
  return { ...envelope, data: parsed.data, t: instantOf(time) } as unknown as LedgerEventOf<T>;
}

export function account(over: Partial<AccountInput> = {}): Account {
  return accountSchema.parse({ accountId: "acme", name: "Acme", currency: "EUR", tariffId: "t1", ...over });
}

export function tariff(versions: unknown[], over: Partial<Tariff> = {}): Tariff {
  return tariffSchema.parse({ tariffId: "t1", currency: "EUR", versions, ...over });
}

export const v2025 = (rates: unknown[], packages: unknown[] = []) => ({
  publishedAt: "2024-12-01T00:00:00Z",
  effectiveFrom: "2025-01-01T00:00:00Z",
  rates,
  packages,
});

/**
 * Viber from 2025 (`v2025`) at 0.10 a session and 0.02 a message, then at 0.25 and 0.03 from
 * `effectiveFrom` (published at `publishedAt`): a charge at the later prices shows when it was priced (G8).
 */
export const viberPriceRise = (publishedAt: string, effectiveFrom: string) => [
  v2025([
    { product: "viber.session", unitPrice: "0.10" },
    { product: "viber.message", unitPrice: "0.02" },
  ]),
  {
    publishedAt,
    effectiveFrom,
    rates: [
      { product: "viber.session", unitPrice: "0.25" },
      { product: "viber.message", unitPrice: "0.03" },
    ],
  },
];

/**
 * One tariff (default `std`, EUR) with one version in force from 2025 (`v2025`, or from
 * `effectiveFrom`). Free of vitest, so the benchmarks build their tariffs with it too.
 */
export function stdTariffs(
  rates: unknown[],
  {
    packages = [],
    tariffId = "std",
    currency = "EUR",
    effectiveFrom,
  }: { packages?: unknown[]; tariffId?: string; currency?: string; effectiveFrom?: string } = {},
): Tariff[] {
  const version = { ...v2025(rates, packages), ...(effectiveFrom === undefined ? {} : { effectiveFrom }) };
  return parseTariffs([{ tariffId, currency, versions: [version] }]);
}

/**
 * `ev` for table-driven tests whose type is a row value: checked by the same schemas, at run time
 * only (a row of data the contract rejects throws).
 */
export const evOf = (
  type: UsageEventType,
  time: string,
  data: Record<string, unknown>,
  extraOrId: string | EnvelopeInput = {},
) => ev(type, time, data as EventInput<typeof type>, extraOrId);

/**
 * The one harness of the pricing table tests (as OpenMeter's runUBPTest): each case is a tariff
 * version, an account, the period's charges and the lines expected, priced through `priceCharges`,
 * the same router the engine calls, so a case also proves that its price form is routed to its module.
 */
import { expect, it } from "vitest";
import type { AccountInput } from "../../../shared/contract/accounts.js";
import type { ProductCode } from "../../../shared/core/catalogue.js";
import { dec, formatMoney } from "../../../shared/core/money.js";
import { type PricingResult, priceCharges } from "../../../shared/core/rating/pricing.js";
import type { Charge } from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { account, tariff, v2025 } from "../../support/events.js";

export const july = periodWindow("2025-07", "UTC");
/** The effectiveFrom of `v2025`, as lines show their tariff version. */
export const V2025 = "@2025-01-01T00:00:00Z";

/** A charge of the period (priced at July's first second unless `at` says otherwise). */
export const charge = (
  product: ProductCode,
  quantity: string | number,
  dimensions: Record<string, string> = {},
  at = july.start + 1000,
  extra: Partial<Charge> = {},
): Charge => ({
  product,
  dimensions,
  quantity: dec(quantity),
  pricedAt: at,
  ref: "test",
  ...extra,
});

/** "lineType product [k=v;…] quantity unit x unitPrice = amount @tariffVersion" (no unit: none), sorted. */
export const summary = (r: PricingResult, currency = "EUR"): string[] =>
  r.lines
    .map((l) => {
      const d = Object.entries(l.dimensions)
        .map(([k, v]) => `${k}=${v}`)
        .sort()
        .join(";");
      const quantity = [l.quantity.toFixed(), l.unit].filter(Boolean).join(" ");
      const money = formatMoney(l.amount, currency);
      return `${l.lineType} ${l.product} [${d}] ${quantity} x ${l.unitPrice.toFixed()} = ${money} @${l.tariffVersion}`;
    })
    .sort();

type Step = readonly [upTo: number | null, unitPrice: string];
/** Tier steps from [upTo, unitPrice] pairs. */
export const tierSteps = (steps: readonly Step[]) => steps.map(([upTo, unitPrice]) => ({ upTo, unitPrice }));
/** The steps the tier tests share: up to 100 at 0.07, up to 200 at 0.06, then 0.05. */
export const STEPS: readonly Step[] = [
  [100, "0.07"],
  [200, "0.06"],
  [null, "0.05"],
];
/** A tiered rate of the tariff contract (§3). */
export const tieredRate = (
  product: ProductCode,
  mode: "graduated" | "volume",
  steps: readonly Step[],
  match: Record<string, string> = {},
) => ({ product, match, tiers: { mode, steps: tierSteps(steps) } });

export interface PricerCase {
  readonly name: string;
  /** The rates and packages of the one tariff version in force (effective 2025-01-01). */
  readonly rates?: readonly unknown[];
  readonly packages?: readonly unknown[];
  readonly currency?: string;
  readonly account?: Partial<AccountInput>;
  readonly period?: PeriodWindow;
  readonly charges?: readonly Charge[];
  readonly blocked?: readonly Charge[];
  readonly commitmentSenders?: readonly string[];
  /** Every line expected, in `summary` form (any order). */
  readonly lines: readonly string[];
  /** When given, every line's description (any order). */
  readonly descriptions?: readonly string[];
  /** The suspense expected, as "product quantity: reason"; none when absent. */
  readonly suspense?: readonly string[];
}

/** Prices one case as the engine would. */
export function priceCase(c: PricerCase): PricingResult {
  const currency = c.currency ?? "EUR";
  return priceCharges({
    account: account({ currency, ...c.account }),
    tariff: tariff([v2025([...(c.rates ?? [])], [...(c.packages ?? [])])], { currency }),
    period: c.period ?? july,
    charges: c.charges ?? [],
    blocked: c.blocked ?? [],
    ...(c.commitmentSenders ? { commitmentSenders: new Set(c.commitmentSenders) } : {}),
  });
}

/** One test per case: the lines (and descriptions, suspense) are exactly those expected. */
export function runPricerTest(cases: readonly PricerCase[]): void {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const r = priceCase(c);
    expect(summary(r, c.currency)).toEqual([...c.lines].sort());
    if (c.descriptions) expect(r.lines.map((l) => l.description).sort()).toEqual([...c.descriptions].sort());
    expect(r.suspense.map((s) => `${s.product} ${s.quantity.toFixed()}: ${s.reason}`)).toEqual(
      c.suspense ?? [],
    );
  });
}

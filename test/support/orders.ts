/**
 * G6 through the public entry point: rate one period with `ratePeriod` from the same events fed in
 * adversarial orders — as written, reversed, same-instant groups swapped, and seeded shuffles — and
 * require the same result from each. Nothing here sorts the events the engine receives: the engine
 * alone must put them in the canonical order (rating-rules G12).
 */
import fc from "fast-check";
import { expect } from "vitest";
import type { AccountInput } from "../../shared/contract/accounts.js";
import { productCodes } from "../../shared/core/catalogue.js";
import { ratePeriod } from "../../shared/core/rating/engine.js";
import { dimensionsKey } from "../../shared/core/rating/pricing.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import type { PeriodId } from "../../shared/core/time.js";
import { account, tariff } from "./events.js";

/** Every product at unit price 1, so that each charge shows as a line with its quantity. */
const everyProductAtOne = tariff([
  {
    publishedAt: "2019-12-01T00:00:00Z",
    effectiveFrom: "2020-01-01T00:00:00Z",
    rates: productCodes.map((product) => ({ product, unitPrice: "1" })),
  },
]);

/** "lineType product[dimensions] xQuantity", then "suspense …", in the engine's output order. */
function view(events: readonly LedgerEvent[], periodId: PeriodId, over: Partial<AccountInput>): string[] {
  const r = ratePeriod({ account: account(over), tariff: everyProductAtOne, periodId, events });
  const d = (x: Record<string, string>) => (Object.keys(x).length ? `[${dimensionsKey(x)}]` : "");
  return [
    ...r.lines.map((l) => `${l.lineType} ${l.product}${d(l.dimensions)} x${l.quantity.toFixed()}`),
    ...r.suspense.map(
      (s) => `suspense ${s.product}${d(s.dimensions ?? {})} x${s.quantity.toFixed()}: ${s.reason}`,
    ),
    ...(Object.keys(r.compliance).length ? [`compliance ${JSON.stringify(r.compliance)}`] : []),
  ];
}

/** The same events in orders chosen to break a rule that depends on arrival order. */
export function adversarialOrders(events: readonly LedgerEvent[], shuffles = 25): [string, LedgerEvent[]][] {
  const byTime = [...events].sort((a, b) => a.t - b.t);
  const ascending = (a: LedgerEvent, b: LedgerEvent) => a.t - b.t;
  // Time ascending, but events of the same instant in reverse of their written order, then reversed
  // source/id order: whatever tie-break a rule might rely on, one of these breaks it.
  const sameInstantReversed = [...events].reverse().sort(ascending);
  const sameInstantById = [...events].sort(
    (a, b) => ascending(a, b) || (b.source + b.id < a.source + a.id ? -1 : 1),
  );
  const orders: [string, LedgerEvent[]][] = [
    ["as written", [...events]],
    ["reversed", [...byTime].reverse()],
    ["same-instant reversed", sameInstantReversed],
    ["same-instant by descending source and id", sameInstantById],
  ];
  for (let seed = 1; seed <= shuffles; seed++) {
    const [shuffled] = fc.sample(
      fc.shuffledSubarray([...events], { minLength: events.length, maxLength: events.length }),
      { numRuns: 1, seed },
    );
    orders.push([`shuffle seed ${seed}`, shuffled!]);
  }
  return orders;
}

/**
 * Rates the period from the events in every adversarial order, expects one result, and returns it
 * (each test states that result explicitly, so the check cannot pass vacuously).
 */
export function rateInEveryOrder(
  events: readonly LedgerEvent[],
  periodId: PeriodId = "2025-07",
  over: Partial<AccountInput> = {},
): string[] {
  const orders = adversarialOrders(events);
  const results = orders.map(([name, ordered]) => [name, view(ordered, periodId, over)] as const);
  const [, first] = results[0]!;
  for (const [name, result] of results) expect(result, `order: ${name}`).toEqual(first);
  return first;
}

/**
 * Pricing: turns a period's charges into priced lines (contract §3, §4; rating-rules G4, G8, G10, §2, §3.1).
 * Pure and deterministic; amounts are exact until each line is rounded once, half-up.
 *
 * A thin router over one module per price type (pricing/README.md): packages of the period's
 * version, then each charge to the pricer of the rate that matches it (or to suspense), then
 * commitments on what the rates charged, then informational lines; the line book rounds.
 */

import { builtInProducts } from "../products/index.js";
import { commitmentPricer } from "./pricing/commitment.js";
import { informationalPricer } from "./pricing/informational.js";
import { LineBook, type PricedLine } from "./pricing/line-book.js";
import { packagePricer, packagesInForce } from "./pricing/package.js";
import type { PricingContext, PricingInput, RateGroup } from "./pricing/pricer.js";
import { prorationPricer } from "./pricing/proration.js";
import { rateFor, versionAt } from "./pricing/rates.js";
import { pricerFor } from "./pricing/registry.js";
import type { Charge, SuspenseItem } from "./types.js";

export { dimensionsKey, type PricedLine, UNIT_PRICE_DECIMALS } from "./pricing/line-book.js";
export type { PricingInput } from "./pricing/pricer.js";
export { namedUserProration } from "./pricing/proration.js";
export { findRate, versionAt } from "./pricing/rates.js";

export interface PricingResult {
  readonly lines: PricedLine[];
  readonly suspense: SuspenseItem[];
}

export function priceCharges(input: PricingInput): PricingResult {
  const { tariff, period, products = builtInProducts } = input;
  const periodVersion = versionAt(tariff, period.start);
  const unitOf = (p: string) => products.definitions[p]?.unit ?? "";
  const ctx: PricingContext = { input, periodVersion, book: new LineBook(unitOf) };

  const packages = packagesInForce(periodVersion);
  for (const pkg of packages.values()) {
    packagePricer.price(pkg, ctx);
    prorationPricer.price(pkg, ctx);
  }

  const suspense: SuspenseItem[] = [];
  const groups = new Map<RateGroup["rate"], RateGroup & { charges: Charge[] }>();
  for (const c of input.charges) {
    if (packages.has(c.product)) continue;
    const found = rateFor(tariff, c, products.packagedProducts);
    if ("reason" in found) {
      suspense.push(held(c, found.reason));
      continue;
    }
    const { rate, version } = found;
    // A rate object belongs to one version, so a group is one rate under one version (G8).
    const lineType = products.definitions[c.product]!.lineType;
    const group = groups.get(rate) ?? { rate, version, charges: [], lineType };
    group.charges.push(c);
    groups.set(rate, group);
  }
  for (const group of groups.values()) pricerFor(group).price(group, ctx);

  for (const commitment of input.account.commitments) commitmentPricer.price(commitment, ctx);
  for (const c of input.blocked) informationalPricer.price(c, ctx);

  return { lines: ctx.book.lines(tariff.currency), suspense };
}

/** G10: a charge no rate prices is held with its reason, never dropped. */
const held = (c: Charge, reason: string): SuspenseItem => ({
  product: c.product,
  reason,
  ref: c.ref,
  quantity: c.quantity,
  dimensions: c.dimensions,
  ...(c.events !== undefined ? { events: c.events } : {}),
});

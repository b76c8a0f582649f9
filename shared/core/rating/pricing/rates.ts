/** Which tariff version and which rate price a charge (contract §3; rating-rules G8, G14). */
import { instantOf } from "../../../contract/common.js";
import type { Rate, Tariff, TariffVersion } from "../../../contract/tariffs.js";
import type { Charge, Dimensions } from "../types.js";
import { describeProduct } from "./line-book.js";

/** The version in force at instant t (G8): the last one whose effectiveFrom ≤ t. */
export function versionAt(tariff: Tariff, t: number): TariffVersion | undefined {
  let found: TariffVersion | undefined;
  for (const v of tariff.versions) if (instantOf(v.effectiveFrom) <= t) found = v;
  return found;
}

/** Contract §3: of the rates whose every match key equals the charge's dimension, most keys wins, then first listed. */
export function findRate(version: TariffVersion, product: string, dimensions: Dimensions): Rate | undefined {
  let best: Rate | undefined;
  let bestKeys = -1;
  for (const rate of version.rates) {
    if (rate.product !== product) continue;
    const keys = Object.entries(rate.match);
    // G14: a charge that lacks a dimension never matches a rate keyed on it.
    if (!keys.every(([k, v]) => dimensions[k] === v)) continue;
    if (keys.length > bestKeys) {
      best = rate;
      bestKeys = keys.length;
    }
  }
  return best;
}

/** The version and rate that price a charge, or why none does (G10: the charge is then held). */
export function rateFor(
  tariff: Tariff,
  c: Charge,
  packagedProducts: readonly string[],
): { readonly version: TariffVersion; readonly rate: Rate } | { readonly reason: string } {
  const version = versionAt(tariff, c.pricedAt);
  if (!version)
    return {
      reason: `no version of tariff ${tariff.tariffId} in force at ${new Date(c.pricedAt).toISOString()}`,
    };
  const rate = findRate(version, c.product, c.dimensions);
  if (rate) return { version, rate };
  const pkgOnly = packagedProducts.includes(c.product) ? " and no package" : "";
  return {
    reason: `no rate${pkgOnly} for ${describeProduct(c.product, c.dimensions)} in tariff ${tariff.tariffId} version ${version.effectiveFrom}`,
  };
}

/**
 * The registry of price forms a rate can take: each form's pricer, one module each. The compiler
 * keeps it complete: a form the contract gains (contract/tariffs.ts) fails here until it has a pricer.
 */
import { graduatedPricer } from "./graduated.js";
import { type PriceForm, type Pricer, priceFormOf, type RateGroup } from "./pricer.js";
import { unitPricer } from "./unit.js";
import { volumePricer } from "./volume.js";

export const ratePricers: { readonly [F in PriceForm]: Pricer<RateGroup> } = {
  unit: unitPricer,
  graduated: graduatedPricer,
  volume: volumePricer,
};

export const pricerFor = (group: RateGroup): Pricer<RateGroup> => ratePricers[priceFormOf(group.rate)];

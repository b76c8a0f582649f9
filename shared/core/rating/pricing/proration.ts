/**
 * Proration of a package fee (rating-rules §2), as a table: packaged product → rule. A product with
 * no rule is never prorated; a rule returns the credit (a unit price on a quantity-1 line) or none.
 */
import type { Account } from "../../../contract/accounts.js";
import type { ProductCode } from "../../catalogue.js";
import { type Dec, dec } from "../../money.js";
import { daysInPeriod, type PeriodWindow } from "../../time.js";
import { roundUnitPrice } from "./line-book.js";
import type { PackageInForce } from "./package.js";
import type { Pricer } from "./pricer.js";

export interface ProrationCredit {
  readonly unitPrice: Dec;
  readonly note: string;
}

export type ProrationRule = (account: Account, period: PeriodWindow, fee: Dec) => ProrationCredit | undefined;

/**
 * §2 first month of named-user pricing: when namedUserPricingStart falls on day d (> 1) of this
 * period with D days, credit −fee × (d − 1) / D on a proration line (the fee line stays full).
 */
export const namedUserProration: ProrationRule = (account, period, fee) => {
  const start = account.settings.namedUserPricingStart;
  if (!start || start.slice(0, 7) !== period.id) return undefined;
  const d = Number(start.slice(8, 10));
  if (d <= 1) return undefined;
  const D = daysInPeriod(period.id);
  // G4: unit prices carry up to 6 decimals; the line's amount (1 × unit price) is then rounded once
  // to the currency (policy: −fee × 10/31 is shown as −96.774194, amount −96.77).
  return {
    unitPrice: roundUnitPrice(fee.times(d - 1).dividedBy(D)).negated(),
    note: `first month of named-user pricing from ${start}: fee prorated by (${D} − ${d} + 1) / ${D}, credit ${d - 1}/${D}`,
  };
};

/** Which packaged products' fees are prorated, and by which rule. */
export const prorationRules: ReadonlyMap<string, ProrationRule> = new Map([
  ["conversations.active_agents" satisfies ProductCode, namedUserProration],
]);

/** The proration line of a package in force, when its product has a rule and the rule credits. */
export const prorationPricer: Pricer<PackageInForce> = {
  price({ pkg, version }, { input, book }) {
    const credit = prorationRules.get(pkg.product)?.(input.account, input.period, dec(pkg.fee));
    if (credit)
      book.line({
        lineType: "proration",
        product: pkg.product,
        dimensions: {},
        quantity: dec(1),
        unitPrice: credit.unitPrice,
        tariffVersion: version.effectiveFrom,
        note: credit.note,
        unit: "month",
      });
  },
};

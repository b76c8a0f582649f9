/** Unit price (contract §3): each charge at the rate's unit price, on a line with the charge's dimensions. */
import { dec } from "../../money.js";
import type { Pricer, RateGroup } from "./pricer.js";

export const unitPricer: Pricer<RateGroup> = {
  price({ rate, version, charges, lineType }, { book }) {
    const unitPrice = dec(rate.unitPrice!);
    for (const c of charges) {
      book.line({
        lineType,
        product: c.product,
        dimensions: c.dimensions,
        quantity: c.quantity,
        unitPrice,
        tariffVersion: version.effectiveFrom,
      });
      book.charged(c, c.quantity.times(unitPrice));
    }
  },
};

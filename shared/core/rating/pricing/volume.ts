/**
 * Volume tiers (contract §3): every unit of the rate's period total at the price of the step the
 * total reaches, on one line. Each charge counts towards a commitment at that price.
 */
import { dec, ZERO } from "../../money.js";
import type { Pricer, RateGroup } from "./pricer.js";
import { tieredLine, volumeStep } from "./tiers.js";

export const volumePricer: Pricer<RateGroup> = {
  price(group, { book }) {
    const total = group.charges.reduce((s, c) => s.plus(c.quantity), ZERO);
    const unitPrice = dec(volumeStep(group.rate.tiers!.steps, total).unitPrice);
    for (const c of group.charges) book.charged(c, c.quantity.times(unitPrice));
    book.line(tieredLine(group, total, unitPrice));
  },
};

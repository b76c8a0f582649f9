/**
 * Graduated tiers (contract §3): each unit of the rate's period total at the price of the step it
 * falls in, one line per step reached. Each charge counts towards a commitment with the exact
 * amount of the units it adds to the running total, in canonical order.
 */
import { dec, ZERO } from "../../money.js";
import type { Pricer, RateGroup } from "./pricer.js";
import { tieredLine, walkTiers } from "./tiers.js";

export const graduatedPricer: Pricer<RateGroup> = {
  price(group, { book }) {
    const steps = group.rate.tiers!.steps;
    let running = ZERO;
    for (const c of group.charges) {
      const from = running;
      running = running.plus(c.quantity);
      let amount = ZERO;
      walkTiers(steps, from, running, (part) => {
        amount = amount.plus(part.quantity.times(part.step.unitPrice));
      });
      book.charged(c, amount);
    }
    walkTiers(steps, ZERO, running, (part) => {
      book.line(tieredLine(group, part.quantity, dec(part.step.unitPrice)));
    });
  },
};

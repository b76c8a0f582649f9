/** Signals-blocked traffic (rating-rules G2): informational lines at zero price, never charged. */
import { ZERO } from "../../money.js";
import type { Charge } from "../types.js";
import type { Pricer } from "./pricer.js";
import { versionAt } from "./rates.js";

export const informationalPricer: Pricer<Charge> = {
  price(c, { input, book }) {
    book.line({
      lineType: "informational",
      product: c.product,
      dimensions: c.dimensions,
      quantity: c.quantity,
      unitPrice: ZERO,
      tariffVersion: versionAt(input.tariff, c.pricedAt)?.effectiveFrom ?? "",
      note: "blocked by Signals, not charged",
    });
  },
};

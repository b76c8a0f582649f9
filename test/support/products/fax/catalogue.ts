/** The fax test product's catalogue rows: line type, unit, pricing dimensions, the explanation's row. */
import { recurring, usage } from "../../../../shared/core/products/rows.js";
import type { ProductRows } from "../../../../shared/core/products/types.js";

export const faxProducts = {
  "fax.page": {
    ...usage("page", ["country"]),
    explanation: {
      section: "(test product) fax",
      chargeableEvent: "each fax submitted to the carrier",
      quantity: "its pages, summed per destination country",
    },
  },
  "fax.mailbox": {
    ...recurring("mailbox-month"),
    explanation: {
      section: "(test product) fax",
      chargeableEvent: "a fax mailbox open at any moment of the period ([opened, closed))",
      quantity: "1 per mailbox open in the period",
    },
    sources: ["fax.mailbox"],
  },
} as const satisfies ProductRows;

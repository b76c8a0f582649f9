/** The fax test product's catalogue rows. */
import { recurring, usage } from "../../../../shared/core/products/rows.js";
import type { ProductRows } from "../../../../shared/core/products/types.js";

export const faxProducts = {
  "fax.page": usage("page", ["country"]),
  "fax.mailbox": recurring("mailbox-month"),
} as const satisfies ProductRows;

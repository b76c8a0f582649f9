/**
 * The fax test product: its declaration, the one thing a registry row names. The tests register it
 * as the registry registers the built-in families, `productCatalogue([...builtInFamilies, fax])`.
 */
import type { ProductFamily } from "../../../../shared/core/products/index.js";
import { carryFaxMailboxes } from "./carry.js";
import { faxProducts } from "./catalogue.js";
import { rateFaxMailboxes, rateFaxPages } from "./rule.js";
import { faxEvents } from "./schema.js";

export const fax: ProductFamily<typeof faxEvents, typeof faxProducts> = {
  name: "fax",
  events: faxEvents,
  products: faxProducts,
  rules: [
    // Each fax on its own fields alone: counted at ingest in monthly counters, never stored raw.
    { name: "fax pages", rate: rateFaxPages, perEvent: ["fax.sent"] },
    // Mailboxes stay open across periods: kept raw, carried by the snapshot; a late one re-rates later closed periods.
    {
      name: "fax mailboxes",
      rate: rateFaxMailboxes,
      together: ["fax.mailbox"],
      carries: { types: ["fax.mailbox"], carriers: [carryFaxMailboxes] },
    },
  ],
};

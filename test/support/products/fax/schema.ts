/** The `data` of the fax test product's event types, from the contract's parts like every family's. */
import { z } from "zod";
import { country, data, nonEmpty } from "../../../../shared/contract/event-data.js";

export const faxEvents = {
  /** One fax sent to the carrier: charged per page, priced by the destination country. */
  "fax.sent": data({
    to: nonEmpty,
    country,
    pages: z.number().int().min(1),
    status: z.enum(["submitted", "rejected"]),
  }),
  /** A fax mailbox opened or closed: a monthly fee for each period it is open at some moment. */
  "fax.mailbox": data({ mailboxId: nonEmpty, action: z.enum(["opened", "closed"]) }),
} as const;

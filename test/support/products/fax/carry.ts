/** The state the fax mailbox rule carries across a period start: the mailboxes open at S. */
import type { Carrier } from "../../../../shared/core/rating/carried-state.js";
import type { LedgerEvent } from "../../../../shared/core/rating/types.js";
import { type FaxEvent, faxEventsOf } from "./rule.js";

/** The event that opened each mailbox still open at S (rule.ts: a second `opened` changes nothing). */
export const carryFaxMailboxes: Carrier = ({ all, add }) => {
  const opener = new Map<string, FaxEvent<"fax.mailbox">>();
  for (const e of faxEventsOf(all, "fax.mailbox")) {
    if (e.data.action === "closed") opener.delete(e.data.mailboxId);
    else if (!opener.has(e.data.mailboxId)) opener.set(e.data.mailboxId, e);
  }
  for (const e of opener.values()) add(e as unknown as LedgerEvent);
  return undefined;
};

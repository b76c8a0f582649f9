/** The state the WhatsApp rule carries across a period start (rating/carry.ts). */
import { compositeKey } from "../../keys.js";
import type { Carrier } from "../../rating/carried-state.js";
import type { LedgerEvent } from "../../rating/types.js";
import { eventsOfType } from "../../rating/types.js";
import { DAY } from "../../time.js";
import { WHATSAPP_PER_MESSAGE_FROM } from "./rule.js";

/** §3.3: inbounds of the last 48 h and the openers of conversations still open at S. */
export const carryWhatsApp: Carrier = ({ all, start, add }) => {
  keepWhatsApp(all, start, add);
  return undefined;
};

function keepWhatsApp(all: readonly LedgerEvent[], start: number, add: (e: LedgerEvent | undefined) => void) {
  type Category = string;
  interface Thread {
    latestInbound?: number;
    readonly conversations: Map<Category, LedgerEvent>;
  }
  const threads = new Map<string, Thread>();
  for (const e of eventsOfType(all, "whatsapp.inbound", "whatsapp.message")) {
    const key = compositeKey(e.data.senderId, e.data.endUserId);
    let th = threads.get(key);
    if (!th) {
      th = { conversations: new Map() };
      threads.set(key, th);
    }
    if (e.type === "whatsapp.inbound") {
      th.latestInbound = e.t;
      // The CSW at S, and the CSW in which a conversation still open at S was opened.
      if (e.t + 2 * DAY > start) add(e);
      continue;
    }
    // The per-conversation regime of rule.ts, conversations only.
    if (!e.data.delivered || e.t >= WHATSAPP_PER_MESSAGE_FROM) continue;
    if (e.data.kind === "template" && e.data.category === undefined) continue;
    const thread = th;
    const isOpen = (c: Category) => {
      const opener = thread.conversations.get(c);
      return opener !== undefined && e.t < opener.t + DAY;
    };
    const open = (c: Category) => {
      if (e.data.blocked !== true) thread.conversations.set(c, e);
    };
    if (e.data.kind === "template") {
      const c = e.data.category!;
      if (!isOpen(c)) open(c);
      continue;
    }
    if ([...thread.conversations.keys()].some(isOpen)) continue;
    const inCsw = thread.latestInbound !== undefined && e.t < thread.latestInbound + DAY;
    if (inCsw) open("service");
  }
  for (const th of threads.values())
    for (const opener of th.conversations.values()) if (opener.t + DAY > start) add(opener);
}

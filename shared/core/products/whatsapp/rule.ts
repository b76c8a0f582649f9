/**
 * WhatsApp Business Platform usage (rating-rules §3.3) with G2, G12, G13: per conversation before
 * 2025-07-01T00:00:00Z, per message from then. Windows, conversations and the CSW are kept per
 * (senderId, end user) and carry over from earlier periods, so the rule replays the whole history
 * and emits only the charges of `input.period`. The monthly `whatsapp.sender` fee is a resource
 * fee (G11), rated elsewhere.
 */

import { compositeKey } from "../../keys.js";
import { ONE } from "../../money.js";
import {
  type Charge,
  eventsOfType,
  inPeriod,
  type ProductRule,
  refOf,
  type SuspenseItem,
} from "../../rating/types.js";
import { DAY } from "../../time.js";

/** §3.3: the per-message regime starts at this instant (UTC, whatever the account's time zone). */
export const WHATSAPP_PER_MESSAGE_FROM = Date.parse("2025-07-01T00:00:00Z");
/** CSW and conversation length, half-open [start, start + 24 h) (G12). */
const WINDOW = DAY;

type Category = "marketing" | "utility" | "authentication" | "service";

interface Thread {
  /** Time of the end user's latest inbound to this sender: the CSW is [latest, latest + 24 h). */
  latestInbound?: number;
  /** Start of the latest conversation of each category (per-conversation regime only). */
  readonly conversations: Map<Category, number>;
}

export const rateWhatsApp: ProductRule = ({ period, events }) => {
  const charges: Charge[] = [];
  const blocked: Charge[] = [];
  const suspense: SuspenseItem[] = [];
  const threads = new Map<string, Thread>();
  const threadOf = (key: string): Thread => {
    let th = threads.get(key);
    if (!th) {
      th = { conversations: new Map() };
      threads.set(key, th);
    }
    return th;
  };

  for (const e of eventsOfType(events, "whatsapp.inbound", "whatsapp.message")) {
    const th = threadOf(compositeKey(e.data.senderId, e.data.endUserId));
    if (e.type === "whatsapp.inbound") {
      th.latestInbound = e.t;
      continue;
    }
    // G1/§3.3: only delivered messages are charged or open anything.
    if (!e.data.delivered) continue;
    const here = inPeriod(e.t, period);
    const inCsw = th.latestInbound !== undefined && e.t < th.latestInbound + WINDOW;
    const isBlocked = e.data.blocked === true;
    const emit = (charge: Omit<Charge, "quantity" | "pricedAt" | "ref">) => {
      if (here)
        (isBlocked ? blocked : charges).push({ ...charge, quantity: ONE, pricedAt: e.t, ref: refOf(e) });
    };

    if (e.data.kind === "template" && e.data.category === undefined) {
      // The contract requires a category on templates; without one no rate can apply (G10).
      if (here && !isBlocked)
        suspense.push({
          product: "whatsapp.template",
          reason: "template without category",
          ref: refOf(e),
          quantity: ONE,
        });
      continue;
    }

    if (e.t >= WHATSAPP_PER_MESSAGE_FROM) {
      // Per-message regime. Conversations opened before the switch cover nothing now.
      if (e.data.kind === "freeform") emit({ product: "whatsapp.freeform", dimensions: {} });
      else if (e.data.category === "utility" && inCsw) {
        // Utility template inside the CSW: free, no charge (rating-rules §1.1).
      } else emit({ product: "whatsapp.template", dimensions: { category: e.data.category! } });
      continue;
    }

    // Per-conversation regime.
    const isOpen = (c: Category) => {
      const start = th.conversations.get(c);
      return start !== undefined && e.t < start + WINDOW;
    };
    // G2: a blocked message opens nothing; it is reported with the conversation it would have opened.
    const open = (c: Category) => {
      if (!isBlocked) th.conversations.set(c, e.t);
      emit({ product: "whatsapp.conversation", dimensions: { category: c } });
    };
    if (e.data.kind === "template") {
      // A template of category C opens a C conversation unless one is open (other categories do
      // not cover it: seed example, marketing inside an open utility conversation).
      const c = e.data.category!;
      if (!isOpen(c)) open(c);
      continue;
    }
    // Free-form: covered by any open conversation; otherwise a service conversation opens when it
    // answers inside the CSW.
    const anyOpen = [...th.conversations.keys()].some(isOpen);
    if (anyOpen) continue;
    if (inCsw) open("service");
    else if (here && !isBlocked)
      // (policy) A free-form message cannot be sent outside the CSW; one delivered there with no
      // open conversation opens nothing under §3.3, so it is held for review, not silently dropped.
      suspense.push({
        product: "whatsapp.conversation",
        reason: "free-form message delivered outside the customer support window with no open conversation",
        ref: refOf(e),
        quantity: ONE,
        dimensions: { category: "service" },
      });
  }
  return { charges, blocked, suspense };
};

/**
 * The fax test product's rules: a product that is not part of rating-rules.md, registered only by
 * the tests, the way docs/catalogue.md tells a developer to add one. Its event types are not in the
 * built-in `UsageEventType` union (they join it only when a family is a row of the registry), so
 * `faxEventsOf` narrows the engine's events to them; a built-in family uses `eventsOfType`.
 */
import type { UsageEventOf } from "../../../../shared/contract/usage-event.js";
import type { ProductCode } from "../../../../shared/core/catalogue.js";
import { dec, ONE } from "../../../../shared/core/money.js";
import type { Charge, LedgerEvent, ProductRule } from "../../../../shared/core/rating/types.js";
import { inPeriod, refOf } from "../../../../shared/core/rating/types.js";
import type { faxEvents } from "./schema.js";

type FaxType = keyof typeof faxEvents;
export type FaxEvent<T extends FaxType = FaxType> = Extract<UsageEventOf<typeof faxEvents>, { type: T }> & {
  readonly t: number;
};

/** The events of one fax type among the engine's (which are typed as the built-in ones). */
export const faxEventsOf = <T extends FaxType>(events: readonly LedgerEvent[], type: T): FaxEvent<T>[] =>
  (events as readonly { type: string }[]).filter((e) => e.type === type) as FaxEvent<T>[];

/** A product code of this family (the built-in `ProductCode` union does not name it). */
const code = (p: keyof typeof import("./catalogue.js").faxProducts) => p as string as ProductCode;

/** `fax.page`: each submitted fax of the period, its pages, by destination country; per event. */
export const rateFaxPages: ProductRule = ({ period, events }) => ({
  charges: faxEventsOf(events, "fax.sent")
    .filter((e) => inPeriod(e.t, period) && e.data.status === "submitted")
    .map(
      (e): Charge => ({
        product: code("fax.page"),
        dimensions: { country: e.data.country },
        quantity: dec(String(e.data.pages)),
        pricedAt: e.t,
        ref: refOf(e),
      }),
    ),
});

/**
 * `fax.mailbox`: one fee for each mailbox open at some moment of the period ([opened, closed)),
 * priced at the period's start. A mailbox opened in an earlier period is still open: the rule
 * reads the history, which a snapshot carries (carry.ts of this folder).
 */
export const rateFaxMailboxes: ProductRule = ({ period, events }) => {
  const openedAt = new Map<string, number>();
  const charged = new Set<string>();
  const charges: Charge[] = [];
  const charge = (id: string) => {
    if (charged.has(id)) return;
    charged.add(id);
    charges.push({
      product: code("fax.mailbox"),
      dimensions: {},
      quantity: ONE,
      pricedAt: period.start,
      ref: id,
    });
  };
  for (const e of faxEventsOf(events, "fax.mailbox")) {
    const id = e.data.mailboxId;
    const from = openedAt.get(id);
    if (e.data.action === "opened") {
      if (from === undefined) openedAt.set(id, e.t);
      continue;
    }
    // Closed: open over [from, e.t); it counts when that stretch meets the period.
    if (from !== undefined && from < period.end && e.t > period.start && e.t > from) charge(id);
    openedAt.delete(id);
  }
  for (const [id, from] of openedAt) if (from < period.end) charge(id);
  return { charges };
};

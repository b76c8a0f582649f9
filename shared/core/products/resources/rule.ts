/**
 * Numbers and their features (rating-rules §4) and the WhatsApp sender fee (§3.3 "Both regimes"),
 * from the resource timelines of G11: a resource is active on [activated, deactivated).
 * - Recurring fees (`number.monthly`, `whatsapp.sender`, `voice.cnam`, `voice.e911`,
 *   `sip_trunk.channel`, `ip_address.monthly`): once for each period in which the resource was
 *   active at any moment, without proration (G11 policy), priced at the period's first instant (G8).
 * - Setup fees (`number.setup`, `byoc.setup`): once per resourceId, ever, in the period of its first
 *   activation, priced at that activation's time.
 */

import { compareStrings } from "../../compare.js";
import { compositeKey } from "../../keys.js";
import { dec, ONE } from "../../money.js";
import {
  type Charge,
  type Dimensions,
  dims,
  eventsOfType,
  inPeriod,
  type LedgerEventOf,
  type ProductRule,
  refOf,
} from "../../rating/types.js";
import type { ProductCode } from "../registered.js";
import { type ResourceData, type ResourceSegment, resourceTimelines } from "./timelines.js";

/** Dimensions of a resource's fee (rating-rules §1.1), only those its activation gives (G14). */
function feeDimensions(d: ResourceData): Dimensions {
  switch (d.resourceType) {
    case "number":
      return dims({ numberType: d.numberType, country: d.country });
    case "whatsapp_sender":
      return dims({ hosting: d.hosting });
    case "sip_trunk":
      return dims({ plan: d.plan, country: d.country });
    default:
      return {};
  }
}

export const rateResources: ProductRule = ({ period, events }) => {
  const charges: Charge[] = [];

  // Setup fees: the first activation ever of each resourceId (events are in canonical order). It is
  // charged even if that activation lasted no time: the resource was provisioned (policy).
  const firstActivation = new Map<string, LedgerEventOf<"resource.activated">>();
  for (const e of eventsOfType(events, "resource.activated"))
    if (!firstActivation.has(e.data.resourceId)) firstActivation.set(e.data.resourceId, e);
  for (const e of firstActivation.values()) {
    if (!inPeriod(e.t, period)) continue;
    const product: ProductCode | undefined =
      e.data.resourceType === "number"
        ? "number.setup"
        : e.data.resourceType === "byoc"
          ? "byoc.setup"
          : undefined;
    if (product)
      charges.push({
        product,
        dimensions: feeDimensions(e.data),
        quantity: ONE,
        pricedAt: e.t,
        ref: refOf(e),
      });
  }

  /** Recurring fees, keyed so that one fee is charged per unit billed (resource, or number for features). */
  const recurring = new Map<string, Charge>();
  /** sip_trunk.channel: Σ of each trunk's peak channel count, per (plan, country). */
  const channels = new Map<string, { dimensions: Dimensions; quantity: number; trunks: string[] }>();

  const timelines = [...resourceTimelines(events).values()].sort((a, b) =>
    compareStrings(a.resourceId, b.resourceId),
  );
  for (const tl of timelines) {
    const active = tl.segments.filter((s) => s.from < period.end && s.to > period.start);
    const last = active.at(-1);
    if (!last) continue; // not active at any moment of the period (G11)
    const fee = (product: ProductCode, unitKey: string) => {
      const key = compositeKey(product, unitKey);
      if (!recurring.has(key))
        recurring.set(key, {
          product,
          // (policy) Should the attributes change within the period, the latest ones name the fee.
          dimensions: feeDimensions(last.data),
          quantity: ONE,
          pricedAt: period.start,
          ref: `${tl.resourceType} ${tl.resourceId} active in ${period.id}`,
        });
    };
    switch (tl.resourceType) {
      case "number":
        fee("number.monthly", tl.resourceId);
        break;
      case "whatsapp_sender":
        fee("whatsapp.sender", tl.resourceId);
        break;
      case "ip_address":
        fee("ip_address.monthly", tl.resourceId);
        break;
      // §4 "per number" (policy): two CNAM/E911 resources on one number in one period are one fee.
      case "cnam":
        fee("voice.cnam", last.data.numberResourceId ?? tl.resourceId);
        break;
      case "e911":
        fee("voice.e911", last.data.numberResourceId ?? tl.resourceId);
        break;
      case "sip_trunk": {
        // §4: the trunk's peak channel count in the period; the stretch that reached it (the
        // latest on a tie) names plan and country (policy).
        let peak: ResourceSegment = last;
        for (const s of active) if ((s.data.channels ?? 0) >= (peak.data.channels ?? 0)) peak = s;
        const quantity = peak.data.channels ?? 0;
        if (quantity <= 0) break;
        const dimensions = feeDimensions(peak.data);
        const key = compositeKey(...Object.entries(dimensions).sort(([a], [b]) => compareStrings(a, b)));
        const group = channels.get(key) ?? { dimensions, quantity: 0, trunks: [] };
        group.quantity += quantity;
        group.trunks.push(tl.resourceId);
        channels.set(key, group);
        break;
      }
      default:
        break; // byoc: setup fee only (§4)
    }
  }
  charges.push(...recurring.values());
  for (const g of channels.values())
    charges.push({
      product: "sip_trunk.channel",
      dimensions: g.dimensions,
      quantity: dec(g.quantity),
      pricedAt: period.start,
      ref: `peak channels of trunks ${g.trunks.join(", ")} in ${period.id}`,
    });
  return { charges };
};

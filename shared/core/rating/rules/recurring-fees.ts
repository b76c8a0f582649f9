/**
 * Numbers and features (rating-rules §4, G11) and the WhatsApp sender fee (§3.3): recurring fees
 * once for each period in which the resource was active at any moment, without proration (policy),
 * and one-time setup fees once per resourceId, ever, in the period of its first activation.
 */
import type { ProductCode } from "../../catalogue.js";
import { dec } from "../../money.js";
import { activeDuring, type ResourceSegment, resourceTimelines } from "../resource-state.js";
import { type Charge, type Dimensions, dims, inPeriod, type ProductRule } from "../types.js";

const ONE = dec(1);

export const rateResources: ProductRule = ({ period, events }) => {
  const charges: Charge[] = [];
  /** Σ of each trunk's peak channel count, per (plan, country). */
  const trunkChannels = new Map<string, { dimensions: Dimensions; channels: number; refs: string[] }>();
  const monthly = (product: ProductCode, dimensions: Dimensions, ref: string) =>
    charges.push({ product, dimensions, quantity: ONE, pricedAt: period.start, ref });

  for (const tl of resourceTimelines(events).values()) {
    const inThisPeriod = tl.segments.filter((s) => s.from < period.end && s.to > period.start);
    // The attributes of the last stretch active in the period name the line (e.g. a number's type).
    const last: ResourceSegment | undefined = inThisPeriod.at(-1);
    const first = tl.segments[0];
    const setupHere = first !== undefined && inPeriod(tl.firstActivatedAt, period);
    const ref = `${tl.resourceType} ${tl.resourceId}`;
    switch (tl.resourceType) {
      case "number": {
        if (setupHere) {
          const d = first.data;
          charges.push({
            product: "number.setup",
            dimensions: dims({ numberType: d.numberType, country: d.country }),
            quantity: ONE,
            pricedAt: tl.firstActivatedAt,
            ref: tl.firstActivationRef,
          });
        }
        if (last)
          monthly(
            "number.monthly",
            dims({ numberType: last.data.numberType, country: last.data.country }),
            ref,
          );
        break;
      }
      case "whatsapp_sender":
        if (last) monthly("whatsapp.sender", dims({ hosting: last.data.hosting }), ref);
        break;
      case "cnam":
        if (last) monthly("voice.cnam", {}, ref);
        break;
      case "e911":
        if (last) monthly("voice.e911", {}, ref);
        break;
      case "ip_address":
        if (last) monthly("ip_address.monthly", {}, ref);
        break;
      case "byoc":
        if (setupHere)
          charges.push({
            product: "byoc.setup",
            dimensions: {},
            quantity: ONE,
            pricedAt: tl.firstActivatedAt,
            ref: tl.firstActivationRef,
          });
        break;
      case "sip_trunk": {
        if (!activeDuring(tl, period.start, period.end)) break;
        // §4: the trunk's peak channel count in the period; the stretch at its peak (the last, on a tie) names plan and country.
        let peak: ResourceSegment | undefined;
        for (const s of inThisPeriod)
          if (!peak || (s.data.channels ?? 0) >= (peak.data.channels ?? 0)) peak = s;
        if (!peak) break;
        const dimensions = dims({ plan: peak.data.plan, country: peak.data.country });
        const key = JSON.stringify(dimensions);
        const g = trunkChannels.get(key) ?? { dimensions, channels: 0, refs: [] };
        g.channels += peak.data.channels ?? 0;
        g.refs.push(tl.resourceId);
        trunkChannels.set(key, g);
        break;
      }
    }
  }
  for (const g of trunkChannels.values())
    if (g.channels > 0)
      charges.push({
        product: "sip_trunk.channel",
        dimensions: g.dimensions,
        quantity: dec(g.channels),
        pricedAt: period.start,
        ref: `peak channels of ${g.refs.join(", ")}`,
      });
  return { charges };
};

/**
 * Resource activity from resource.activated / resource.deactivated events (rating-rules G11):
 * a resource is active on [activated, deactivated). A later `activated` of an active resource
 * changes its attributes (e.g. a SIP trunk's channel count) from that instant on.
 */

import { eventsOfType, type LedgerEvent } from "../../rating/types.js";
import type { EventData } from "../registered.js";

export type ResourceData = EventData<"resource.activated">;

/** A stretch of time during which the resource was active with the same attributes. */
export interface ResourceSegment {
  readonly from: number;
  /** Exclusive end; Infinity while still active. */
  readonly to: number;
  readonly data: ResourceData;
  /** source#id of the activation event that started this segment. */
  readonly ref: string;
}

export interface ResourceTimeline {
  readonly resourceId: string;
  readonly resourceType: ResourceData["resourceType"];
  /** Segments in time order; consecutive segments touch when only attributes changed. */
  readonly segments: readonly ResourceSegment[];
  /** The first activation instant ever seen (for one-time setup fees). */
  readonly firstActivatedAt: number;
  readonly firstActivationRef: string;
}

/** Builds each resource's timeline from events already in canonical order. */
export function resourceTimelines(events: readonly LedgerEvent[]): Map<string, ResourceTimeline> {
  type Building = {
    resourceType: ResourceData["resourceType"];
    segments: ResourceSegment[];
    open?: { from: number; data: ResourceData; ref: string };
    first?: { t: number; ref: string };
  };
  const byId = new Map<string, Building>();
  for (const e of eventsOfType(events, "resource.activated", "resource.deactivated")) {
    const id = e.data.resourceId;
    let b = byId.get(id);
    if (!b) {
      b = { resourceType: e.data.resourceType, segments: [] };
      byId.set(id, b);
    }
    const ref = `${e.source}#${e.id}`;
    if (e.type === "resource.activated") {
      if (b.open) b.segments.push({ from: b.open.from, to: e.t, data: b.open.data, ref: b.open.ref });
      b.open = { from: e.t, data: e.data, ref };
      if (!b.first) b.first = { t: e.t, ref };
    } else if (b.open) {
      b.segments.push({ from: b.open.from, to: e.t, data: b.open.data, ref: b.open.ref });
      b.open = undefined;
    }
  }
  const out = new Map<string, ResourceTimeline>();
  for (const [resourceId, b] of byId) {
    if (!b.first) continue; // only deactivations seen: never active
    const segments = b.open
      ? [
          ...b.segments,
          { from: b.open.from, to: Number.POSITIVE_INFINITY, data: b.open.data, ref: b.open.ref },
        ]
      : b.segments;
    out.set(resourceId, {
      resourceId,
      resourceType: b.resourceType,
      segments: segments.filter((s) => s.to > s.from),
      firstActivatedAt: b.first.t,
      firstActivationRef: b.first.ref,
    });
  }
  return out;
}

/** The segment active at instant t, if any. */
export const segmentAt = (tl: ResourceTimeline, t: number): ResourceSegment | undefined =>
  tl.segments.find((s) => s.from <= t && t < s.to);

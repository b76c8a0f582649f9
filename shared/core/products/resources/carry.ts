/** The state the resource rules carry across a period start (rating/carry.ts). */
import type { Carrier } from "../../rating/carried-state.js";
import type { LedgerEvent, LedgerEventOf } from "../../rating/types.js";
import { eventsOfType } from "../../rating/types.js";

/** G11: per resourceId its first event, first activation and last non-empty stretch. */
export const carryResources: Carrier = ({ all, add }) => {
  keepResources(all, add);
  return undefined;
};

/** The events of a list at one instant. */
function atInstant(list: readonly LedgerEvent[], t: number): LedgerEvent[] {
  return list.filter((e) => e.t === t);
}

function keepResources(all: readonly LedgerEvent[], add: (e: LedgerEvent | undefined) => void) {
  const byId = new Map<string, LedgerEventOf<"resource.activated" | "resource.deactivated">[]>();
  for (const e of eventsOfType(all, "resource.activated", "resource.deactivated")) {
    const list = byId.get(e.data.resourceId) ?? [];
    list.push(e);
    byId.set(e.data.resourceId, list);
  }
  for (const list of byId.values()) {
    add(list[0]); // fixes the resource's type (timelines.ts takes it from the first event)
    const first = list.find((e) => e.type === "resource.activated");
    if (!first) continue;
    for (const e of atInstant(list, first.t)) add(e);
    // The last non-empty stretch: its opener and what closed it (same-instant events included).
    let open: LedgerEvent | undefined;
    let last: { opener: LedgerEvent; closer: LedgerEvent } | undefined;
    for (const e of list) {
      if (open && e.t > open.t) last = { opener: open, closer: e };
      if (e.type === "resource.activated") open = e;
      else open = undefined;
    }
    if (open) {
      for (const e of atInstant(list, open.t)) add(e);
    } else if (last) {
      for (const e of atInstant(list, last.opener.t)) add(e);
      for (const e of atInstant(list, last.closer.t)) add(e);
    }
  }
}

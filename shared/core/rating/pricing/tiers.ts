/**
 * Tiers (contract §3): the one walk over graduated steps, and the step a volume total reaches.
 * Callers turn what the walk reports into lines (a period total) or into exact amounts per charge
 * (a running total, for commitments), so both always agree.
 */
import type { Rate } from "../../../contract/tariffs.js";
import { Dec, ZERO } from "../../money.js";
import type { LineDraft } from "./line-book.js";
import type { RateGroup } from "./pricer.js";

export type TierStep = NonNullable<Rate["tiers"]>["steps"][number];

export interface TierPart {
  readonly step: TierStep;
  /** The quantity of (from, to] that falls in this step. */
  readonly quantity: Dec;
}

/**
 * Walks the graduated steps over the quantity range (from, to] and calls onPart for each step it
 * overlaps, in ascending order. A step ends at its `upTo` (inclusive); the last one (`null`) is open.
 */
export function walkTiers(
  steps: readonly TierStep[],
  from: Dec,
  to: Dec,
  onPart: (part: TierPart) => void,
): void {
  let lower = ZERO;
  for (const step of steps) {
    if (to.lte(lower)) break;
    const upper = step.upTo === null ? to : new Dec(step.upTo);
    const quantity = Dec.min(to, upper).minus(Dec.max(from, lower));
    if (quantity.gt(0)) onPart({ step, quantity });
    lower = upper;
  }
}

/** Volume tiers: the step whose range holds the period total (all units take its price). */
export function volumeStep(steps: readonly TierStep[], total: Dec): TierStep {
  return steps.find((s) => s.upTo === null || total.lte(s.upTo)) ?? steps[steps.length - 1]!;
}

/** A line of a tiered rate: contract §4, it carries the rate's match as its dimensions. */
export function tieredLine(
  { rate, version, charges, lineType }: RateGroup,
  quantity: Dec,
  unitPrice: Dec,
): LineDraft {
  const first = charges[0]!;
  return {
    lineType,
    product: first.product,
    dimensions: rate.match,
    quantity,
    unitPrice,
    tariffVersion: version.effectiveFrom,
  };
}

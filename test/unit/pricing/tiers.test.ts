/** The one tier walk and the volume step (contract §3): pricing/tiers.ts. */
import { describe, expect, it } from "vitest";
import { dec } from "../../../shared/core/money.js";
import { volumeStep, walkTiers } from "../../../shared/core/rating/pricing/tiers.js";
import { STEPS, tierSteps } from "./harness.js";

const steps = tierSteps(STEPS);
const walk = (from: number, to: number) => {
  const parts: string[] = [];
  walkTiers(steps, dec(from), dec(to), (p) => parts.push(`${p.quantity.toFixed()}@${p.step.unitPrice}`));
  return parts;
};

describe("walkTiers: the part of (from, to] in each step", () => {
  it.each([
    [0, 250, ["100@0.07", "100@0.06", "50@0.05"]],
    [0, 100, ["100@0.07"]],
    [0, 0, []],
    [90, 110, ["10@0.07", "10@0.06"]],
    [100, 101, ["1@0.06"]],
    [150, 450, ["50@0.06", "250@0.05"]],
    [0, 0.5, ["0.5@0.07"]],
  ] as const)("(%s, %s]", (from, to, parts) => {
    expect(walk(from, to)).toEqual(parts);
  });
});

describe("volumeStep: the step whose range holds the total", () => {
  it.each([
    [0, "0.07"],
    [100, "0.07"],
    [100.5, "0.06"],
    [200, "0.06"],
    [10_000, "0.05"],
  ])("%s → %s", (total, price) => {
    expect(volumeStep(steps, dec(total)).unitPrice).toBe(price);
  });
});

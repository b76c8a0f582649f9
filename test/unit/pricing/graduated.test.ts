/** Graduated tiers (contract §3, §4; rating-rules §3.1): pricing/graduated.ts. */
import { describe } from "vitest";
import { charge, runPricerTest, STEPS, tieredRate, V2025 } from "./harness.js";

const DE = { country: "DE", network: "x" };
const rates = [tieredRate("sms.mt", "graduated", STEPS, { country: "DE" })];
const commitments = [
  { serviceId: "s1", minimumAmount: "5.00" },
  { serviceId: "s2", minimumAmount: "5.00" },
];
const viber = (q: number, serviceId: string) =>
  charge("viber.message", q, { messageType: "promotional" }, undefined, { commitmentServiceId: serviceId });

describe("graduated tiers: each unit at the price of its step, one line per step reached", () => {
  runPricerTest([
    {
      name: "250 units reach three steps; the lines carry the rate's match as dimensions",
      rates,
      charges: [charge("sms.mt", 250, DE)],
      lines: [
        `usage sms.mt [country=DE] 100 message x 0.07 = 7.00 ${V2025}`,
        `usage sms.mt [country=DE] 100 message x 0.06 = 6.00 ${V2025}`,
        `usage sms.mt [country=DE] 50 message x 0.05 = 2.50 ${V2025}`,
      ],
    },
    {
      name: "exactly at a step boundary stays in the lower step",
      rates,
      charges: [charge("sms.mt", 100, DE)],
      lines: [`usage sms.mt [country=DE] 100 message x 0.07 = 7.00 ${V2025}`],
    },
    {
      name: "the period total of every charge of the rate is what reaches the steps",
      rates,
      charges: [charge("sms.mt", 60, DE), charge("sms.mt", 60, { country: "DE", network: "y" })],
      lines: [
        `usage sms.mt [country=DE] 100 message x 0.07 = 7.00 ${V2025}`,
        `usage sms.mt [country=DE] 20 message x 0.06 = 1.20 ${V2025}`,
      ],
    },
    {
      name: "a step may end at a fraction",
      rates: [
        tieredRate("voice.minute", "graduated", [
          [1.5, "1"],
          [null, "0.1"],
        ]),
      ],
      charges: [charge("voice.minute", 2)],
      lines: [
        `usage voice.minute [] 1.5 minute x 1 = 1.50 ${V2025}`,
        `usage voice.minute [] 0.5 minute x 0.1 = 0.05 ${V2025}`,
      ],
    },
    {
      name: "a zero total writes no line",
      rates,
      charges: [charge("sms.mt", 0, DE)],
      lines: [],
    },
    {
      name: "§3.1: each charge counts the exact amount of the units it adds to the running total",
      // s1's 1 unit at 1 → true-up 4; s2's 2 units: one at 1, one at 0.5 → 1.5, true-up 3.5.
      rates: [
        tieredRate("viber.message", "graduated", [
          [2, "1"],
          [null, "0.5"],
        ]),
      ],
      account: { commitments },
      charges: [viber(1, "s1"), viber(2, "s2")],
      lines: [
        `usage viber.message [] 2 message x 1 = 2.00 ${V2025}`,
        `usage viber.message [] 1 message x 0.5 = 0.50 ${V2025}`,
        `commitment_true_up viber.commitment [serviceId=s1] 1 x 4 = 4.00 ${V2025}`,
        `commitment_true_up viber.commitment [serviceId=s2] 1 x 3.5 = 3.50 ${V2025}`,
      ],
    },
  ]);
});

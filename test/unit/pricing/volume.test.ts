/** Volume tiers (contract §3, §4; rating-rules §3.1): pricing/volume.ts. */
import { describe } from "vitest";
import { charge, runPricerTest, STEPS, tieredRate, V2025 } from "./harness.js";

const rates = [tieredRate("sms.mt", "volume", STEPS, { country: "DE" })];
const DE = (network: string) => ({ country: "DE", network });

describe("volume tiers: all units at the price of the step the period total reaches, on one line", () => {
  runPricerTest([
    ...(
      [
        [250, "0.05", "12.50"],
        [150, "0.06", "9.00"],
        [100, "0.07", "7.00"], // exactly at a boundary: the lower step
      ] as const
    ).map(([n, price, amount]) => ({
      name: `${n} units at ${price}`,
      rates,
      charges: [charge("sms.mt", n, DE("x"))],
      lines: [`usage sms.mt [country=DE] ${n} message x ${price} = ${amount} ${V2025}`],
    })),
    {
      name: "the period total of every charge of the rate sets the step; dimensions = the rate's match",
      rates,
      charges: [charge("sms.mt", 80, DE("x")), charge("sms.mt", 40, DE("y"))],
      lines: [`usage sms.mt [country=DE] 120 message x 0.06 = 7.20 ${V2025}`],
    },
    {
      name: "a zero total writes no line",
      rates,
      charges: [charge("sms.mt", 0, DE("x"))],
      lines: [],
    },
    {
      name: "§3.1: each charge counts its units at the price of the step the total reaches",
      rates: [
        tieredRate("viber.message", "volume", [
          [2, "1"],
          [null, "0.5"],
        ]),
      ],
      account: { commitments: [{ serviceId: "s1", minimumAmount: "5.00" }] },
      charges: [1, 2].map((q) =>
        charge("viber.message", q, { messageType: "promotional" }, undefined, { commitmentServiceId: "s1" }),
      ),
      lines: [
        `usage viber.message [] 3 message x 0.5 = 1.50 ${V2025}`,
        `commitment_true_up viber.commitment [serviceId=s1] 1 x 3.5 = 3.50 ${V2025}`,
      ],
    },
  ]);
});

/** Unit price (contract §3, §4; rating-rules G4): pricing/unit.ts. */
import { describe } from "vitest";
import { charge, runPricerTest, V2025 } from "./harness.js";

const TR = { country: "TR" };
const sms = [
  { product: "sms.mt", match: TR, unitPrice: "0.012" },
  { product: "sms.mo", unitPrice: "0.005" },
];
const times = (n: number, c: () => ReturnType<typeof charge>) => Array.from({ length: n }, c);

describe("unit price: each charge at the rate's price, on a line with the charge's dimensions", () => {
  runPricerTest([
    {
      name: "charges of the same dimensions add up on one line",
      rates: sms,
      charges: [charge("sms.mt", 2, TR), charge("sms.mt", 3, TR)],
      lines: [`usage sms.mt [country=TR] 5 message x 0.012 = 0.06 ${V2025}`],
      descriptions: ["sms.mt (country=TR): usage"],
    },
    {
      name: "one rate, other dimensions: one line each, with the charge's dimensions (not the rate's match)",
      rates: sms,
      charges: [
        charge("sms.mt", 1, { country: "TR", network: "a" }),
        charge("sms.mt", 1, { country: "TR", network: "b" }),
      ],
      lines: [
        `usage sms.mt [country=TR;network=a] 1 message x 0.012 = 0.01 ${V2025}`,
        `usage sms.mt [country=TR;network=b] 1 message x 0.012 = 0.01 ${V2025}`,
      ],
    },
    {
      name: "the catalogue gives the line type and unit",
      rates: [{ product: "number.setup", unitPrice: "1.50" }],
      charges: [charge("number.setup", 2, {})],
      lines: [`one_time number.setup [] 2 number x 1.5 = 3.00 ${V2025}`],
    },
    {
      name: "a zero quantity writes no line (contract §4)",
      rates: sms,
      charges: [charge("sms.mt", 0, TR)],
      lines: [],
    },
    ...(
      [
        [3, "0.04"], // 0.036 → 0.04
        [1, "0.01"], // 0.012 → 0.01
        [125, "1.50"],
      ] as const
    ).map(([n, amount]) => ({
      name: `G4: ${n} SMS at 0.012 → ${amount}, the line rounded once, half-up`,
      rates: sms,
      charges: times(n, () => charge("sms.mt", 1, TR)),
      lines: [`usage sms.mt [country=TR] ${n} message x 0.012 = ${amount} ${V2025}`],
    })),
    {
      name: "G4: 0.005 rounds half-up to 0.01",
      rates: sms,
      charges: [charge("sms.mo", 1, TR)],
      lines: [`usage sms.mo [country=TR] 1 message x 0.005 = 0.01 ${V2025}`],
    },
    {
      name: "G4: JPY has no minor unit",
      currency: "JPY",
      rates: [{ product: "sms.mo", unitPrice: "1.5" }],
      charges: [charge("sms.mo", 1)],
      lines: [`usage sms.mo [] 1 message x 1.5 = 2 ${V2025}`],
    },
  ]);
});

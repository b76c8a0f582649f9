/** Signals-blocked traffic (rating-rules G2): pricing/informational.ts. */
import { describe } from "vitest";
import { charge, runPricerTest, V2025 } from "./harness.js";

const TR = { country: "TR" };

describe("G2 informational lines: blocked traffic at zero price, never charged", () => {
  runPricerTest([
    {
      name: "blocked traffic is reported at zero price with the dimensions it would have had",
      rates: [{ product: "sms.mt", unitPrice: "0.05" }],
      blocked: [charge("sms.mt", 1, TR), charge("sms.mt", 1, TR)],
      lines: [`informational sms.mt [country=TR] 2 message x 0 = 0.00 ${V2025}`],
      descriptions: ["sms.mt (country=TR): blocked by Signals, not charged"],
    },
    {
      name: "no rate needed; before the first version the line names no version",
      blocked: [charge("sms.mt", 1, TR, Date.parse("2024-12-31T00:00:00Z"))],
      lines: ["informational sms.mt [country=TR] 1 message x 0 = 0.00 @"],
    },
  ]);
});

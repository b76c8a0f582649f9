/** Proration of a package fee, product → rule (rating-rules §2, G4): pricing/proration.ts. */
import { describe, expect, it } from "vitest";
import { prorationRules } from "../../../shared/core/rating/pricing/proration.js";
import { periodWindow } from "../../../shared/core/time.js";
import { runPricerTest, V2025 } from "./harness.js";

const pkg = (product: string, fee = "310.00") => ({
  product,
  includedQuantity: 10,
  fee,
  overageUnitPrice: "25",
});
const agents = pkg("conversations.active_agents");
const FEE = `package_fee conversations.active_agents [] 1 month x 310 = 310.00 ${V2025}`;
const starting = (namedUserPricingStart: string) => ({ settings: { namedUserPricingStart } });

describe("§2 first month of named-user pricing: the fee stays full, a proration line credits fee × (d − 1)/D", () => {
  runPricerTest([
    {
      name: "pricing from day 11 of 31: credit 10/31 of the fee",
      packages: [agents],
      account: starting("2025-07-11"),
      lines: [FEE, `proration conversations.active_agents [] 1 month x -100 = -100.00 ${V2025}`],
      descriptions: [
        "conversations.active_agents: package fee",
        "conversations.active_agents: first month of named-user pricing from 2025-07-11: fee prorated by (31 − 11 + 1) / 31, credit 10/31",
      ],
    },
    ...["2025-07-01", "2025-06-11"].map((start) => ({
      name: `no proration line when pricing starts on ${start} (day 1, or another period)`,
      packages: [agents],
      account: starting(start),
      lines: [FEE],
    })),
    {
      name: "G4: the credit's unit price carries 6 decimals, its amount is rounded once, half-up",
      packages: [pkg("conversations.active_agents", "100.00")],
      account: starting("2025-07-02"),
      lines: [
        `package_fee conversations.active_agents [] 1 month x 100 = 100.00 ${V2025}`,
        `proration conversations.active_agents [] 1 month x -3.225806 = -3.23 ${V2025}`, // 100 × 1/31
      ],
    },
    {
      name: "February: D = 28",
      packages: [agents],
      account: starting("2025-02-15"),
      period: periodWindow("2025-02", "UTC"),
      lines: [FEE, `proration conversations.active_agents [] 1 month x -155 = -155.00 ${V2025}`],
    },
    {
      name: "a packaged product with no rule in the table is never prorated",
      packages: [pkg("moments.engaged_people")],
      account: starting("2025-07-11"),
      lines: [`package_fee moments.engaged_people [] 1 month x 310 = 310.00 ${V2025}`],
    },
  ]);
  it("the table names the products whose fee is prorated", () => {
    expect([...prorationRules.keys()]).toEqual(["conversations.active_agents"]);
  });
});

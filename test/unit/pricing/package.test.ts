/** Packages (rating-rules §2): pricing/package.ts. */
import { describe } from "vitest";
import { charge, july, runPricerTest, V2025 } from "./harness.js";

const agents = {
  product: "conversations.active_agents",
  includedQuantity: 10,
  fee: "310.00",
  overageUnitPrice: "25",
};
const used = (q: number) => charge("conversations.active_agents", q, {}, july.start);
const FEE = `package_fee conversations.active_agents [] 1 month x 310 = 310.00 ${V2025}`;

describe("§2 packages: the fee every period, the quantity above the included one as overage", () => {
  runPricerTest([
    { name: "the fee is charged every period, used or not", packages: [agents], lines: [FEE] },
    {
      name: "overage above the included quantity, at the overage unit price",
      packages: [agents],
      charges: [used(7), used(5)],
      lines: [FEE, `package_overage conversations.active_agents [] 2 named user x 25 = 50.00 ${V2025}`],
      descriptions: [
        "conversations.active_agents: package fee",
        "conversations.active_agents: package overage",
      ],
    },
    {
      name: "no overage up to the included quantity",
      packages: [agents],
      charges: [used(10)],
      lines: [FEE],
    },
    {
      name: "a packaged product is never priced by a rate of the same version",
      packages: [agents],
      rates: [{ product: "conversations.active_agents", unitPrice: "99" }],
      charges: [used(1)],
      lines: [FEE],
    },
    {
      name: "the first package listed for a product is the one in force",
      packages: [agents, { ...agents, fee: "1.00" }],
      lines: [FEE],
    },
    {
      name: "without a package, a packaged product's charge is held: no rate and no package (G10)",
      charges: [used(1)],
      lines: [],
      suspense: [
        "conversations.active_agents 1: no rate and no package for conversations.active_agents in tariff t1 version 2025-01-01T00:00:00Z",
      ],
    },
  ]);
});

/** Viber minimum monthly commitment per active sender (rating-rules §3.1): pricing/commitment.ts. */
import { describe } from "vitest";
import { charge, july, runPricerTest, V2025 } from "./harness.js";

const rates = [
  { product: "viber.message", unitPrice: "0.0125" },
  { product: "viber.session", unitPrice: "0.10" },
];
const account = {
  commitments: [
    { serviceId: "svc-1", minimumAmount: "1.00" },
    { serviceId: "svc-idle", minimumAmount: "5.00" },
  ],
};
const message = (serviceId: string) =>
  charge("viber.message", 1, { messageType: "promotional" }, july.start + 5, {
    commitmentServiceId: serviceId,
  });
const session = charge("viber.session", 1, {}, july.start + 6, { commitmentServiceId: "svc-1" });
const USAGE = [
  `usage viber.message [messageType=promotional] 3 message x 0.0125 = 0.04 ${V2025}`,
  `usage viber.session [] 1 session x 0.1 = 0.10 ${V2025}`,
];

describe("§3.1 minimum commitment: an active sender's shortfall of its exact charges, as a true-up", () => {
  runPricerTest([
    {
      // 3 × 0.0125 + 0.10 = 0.1375 (not the rounded 0.04 + 0.10) → true-up 0.8625 → 0.86
      name: "tops up the unrounded charges of an active sender; idle senders owe nothing",
      rates,
      account,
      charges: [message("svc-1"), message("svc-1"), message("svc-1"), session],
      lines: [...USAGE, `commitment_true_up viber.commitment [serviceId=svc-1] 1 x 0.8625 = 0.86 ${V2025}`],
    },
    {
      name: "a sender active only through a session charged in an earlier period owes the whole minimum",
      rates,
      account,
      commitmentSenders: ["svc-idle"],
      lines: [`commitment_true_up viber.commitment [serviceId=svc-idle] 1 x 5 = 5.00 ${V2025}`],
    },
    {
      name: "the rules' set of active senders decides, not the charges",
      rates,
      account,
      charges: [session],
      commitmentSenders: [],
      lines: [`usage viber.session [] 1 session x 0.1 = 0.10 ${V2025}`],
    },
    {
      name: "no true-up when the charges reach the minimum",
      rates,
      account: { commitments: [{ serviceId: "svc-1", minimumAmount: "0.0375" }] },
      charges: [message("svc-1"), message("svc-1"), message("svc-1")],
      lines: [USAGE[0]!],
    },
  ]);
});

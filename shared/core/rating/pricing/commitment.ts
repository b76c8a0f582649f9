/**
 * Minimum monthly commitment per active Viber sender (rating-rules §3.1): the shortfall of the
 * exact (unrounded) amount its charges came to, as a true-up line. Runs after the rates.
 */
import type { Account } from "../../../contract/accounts.js";
import { dec } from "../../money.js";
import type { Pricer } from "./pricer.js";

export type Commitment = Account["commitments"][number];

export const commitmentPricer: Pricer<Commitment> = {
  price(commitment, { input, periodVersion, book }) {
    // Active = delivered a message in the period (§3.1), as the rules report it. A charge alone does
    // not make a sender active: a session is charged in its opener's period even when its messages
    // (and so its sender's activity) fall in the next one. Without the rules' set, the charges tell.
    const active = input.commitmentSenders
      ? input.commitmentSenders.has(commitment.serviceId)
      : input.charges.some((c) => c.commitmentServiceId === commitment.serviceId);
    if (!active) return;
    const shortfall = dec(commitment.minimumAmount).minus(book.exactChargedTo(commitment.serviceId));
    if (shortfall.gt(0))
      book.line({
        lineType: "commitment_true_up",
        product: "viber.commitment",
        dimensions: { serviceId: commitment.serviceId },
        quantity: dec(1),
        unitPrice: shortfall,
        tariffVersion: periodVersion?.effectiveFrom ?? "",
      });
  },
};

/**
 * What an invoice line's explanation adds to its product's rating-rules row (the row itself is in
 * the product's catalogue row, products/<family>/catalogue.ts `explanation`).
 */
export type { RuleRow } from "../../products/types.js";

/** What a line type adds to its product's row (contract §4; rating-rules G2, G7, §2, §3.1). */
export const lineTypeRows: Readonly<Record<string, string>> = {
  package_fee: "§2 package: the fixed monthly fee, charged every period used or not",
  package_overage: "§2 package: the period's quantity above the included quantity, at the overage unit price",
  proration: "§2 first month of named-user pricing: the package fee prorated by (D − d + 1) / D",
  commitment_true_up:
    "§3.1 minimum monthly commitment: the active sender's shortfall of unrounded viber.message + viber.session charges",
  informational: "G2: traffic blocked by Signals, reported at zero price and counted in nothing",
  adjustment:
    "G7: the reference period re-rated with late events; only the difference from lines already emitted",
};

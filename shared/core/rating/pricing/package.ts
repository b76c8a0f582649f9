/**
 * Packages (rating-rules §2): a package in the version in force at the period's first instant is a
 * subscription. Its fee is charged every period, used or not, and the period's quantity above the
 * included one at the overage unit price. Its product is then never priced by a rate.
 */
import type { TariffPackage, TariffVersion } from "../../../contract/tariffs.js";
import { dec, ZERO } from "../../money.js";
import type { Pricer } from "./pricer.js";

export interface PackageInForce {
  readonly pkg: TariffPackage;
  /** The version in force at the period's first instant, which holds the package. */
  readonly version: TariffVersion;
}

/** The packages of the period's version, the first listed for each product. */
export function packagesInForce(periodVersion: TariffVersion | undefined): Map<string, PackageInForce> {
  const byProduct = new Map<string, PackageInForce>();
  if (!periodVersion) return byProduct;
  for (const pkg of periodVersion.packages)
    if (!byProduct.has(pkg.product)) byProduct.set(pkg.product, { pkg, version: periodVersion });
  return byProduct;
}

export const packagePricer: Pricer<PackageInForce> = {
  price({ pkg, version }, { input, book }) {
    const common = { product: pkg.product, dimensions: {}, tariffVersion: version.effectiveFrom } as const;
    book.line({
      ...common,
      lineType: "package_fee",
      quantity: dec(1),
      unitPrice: dec(pkg.fee),
      unit: "month",
    });
    const used = input.charges
      .filter((c) => c.product === pkg.product)
      .reduce((s, c) => s.plus(c.quantity), ZERO);
    const over = used.minus(pkg.includedQuantity);
    if (over.gt(0))
      book.line({
        ...common,
        lineType: "package_overage",
        quantity: over,
        unitPrice: dec(pkg.overageUnitPrice),
      });
  },
};

/**
 * The product catalogue: every billable product code of rating-rules.md, the invoice line type its
 * charges take (contract §4) and the pricing dimensions it carries (rating-rules §1.1). Each
 * product family declares its rows in its folder (products/<family>/catalogue.ts); the registry
 * (products/index.ts) gathers them.
 */
import { builtInProducts, catalogue } from "./products/index.js";

export type { ProductCode } from "./products/registered.js";
export type { ChargeLineType, ProductDefinition } from "./products/types.js";
export { catalogue };

import type { ProductCode } from "./products/registered.js";
export const productCodes = builtInProducts.productCodes as ProductCode[];
export const isProductCode = (s: string): s is ProductCode => Object.hasOwn(catalogue, s);

/** Products whose period quantity can be sold as a package (rating-rules §2). */
export const packagedProducts = builtInProducts.packagedProducts as ProductCode[];

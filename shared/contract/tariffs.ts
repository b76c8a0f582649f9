/**
 * Tariffs file contract (contract.md §3). Strict: an unknown key is refused. Cross-field checks
 * (products, `match` keys against the product's pricing dimensions, fees within the currency's
 * minor unit, version order, G9 notice) are in core/config.ts.
 */
import { z } from "zod";
import {
  configId,
  currencyCode,
  dimensionValue,
  isoInstant,
  moneyString,
  unitPriceString,
} from "./common.js";

export const tierStepSchema = z.strictObject({
  upTo: z.number().positive().nullable(),
  unitPrice: unitPriceString,
});

export const rateSchema = z
  .strictObject({
    product: z.string().min(1),
    // A rate matches event dimensions (contract §1) and a tiered line takes its match as dimensions.
    match: z.record(z.string(), dimensionValue).default({}),
    unitPrice: unitPriceString.optional(),
    tiers: z
      .strictObject({
        mode: z.enum(["graduated", "volume"]),
        steps: z.array(tierStepSchema).min(1),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if ((r.unitPrice === undefined) === (r.tiers === undefined))
      ctx.addIssue({
        code: "custom",
        path: ["unitPrice"],
        message: "exactly one of unitPrice or tiers is required",
      });
    if (r.tiers) {
      const steps = r.tiers.steps;
      steps.forEach((s, i) => {
        const last = i === steps.length - 1;
        if (last && s.upTo !== null)
          ctx.addIssue({
            code: "custom",
            path: ["tiers", "steps", i, "upTo"],
            message: "the last step must be null",
          });
        if (!last && s.upTo === null)
          ctx.addIssue({
            code: "custom",
            path: ["tiers", "steps", i, "upTo"],
            message: "only the last step may be null",
          });
        const prev = steps[i - 1]?.upTo;
        if (i > 0 && s.upTo !== null && prev != null && s.upTo <= prev)
          ctx.addIssue({ code: "custom", path: ["tiers", "steps", i, "upTo"], message: "steps must ascend" });
      });
    }
  });

export const packageSchema = z.strictObject({
  product: z.string().min(1),
  includedQuantity: z.number().nonnegative(),
  fee: moneyString,
  overageUnitPrice: unitPriceString,
});

export const tariffVersionSchema = z.strictObject({
  publishedAt: isoInstant,
  effectiveFrom: isoInstant,
  rates: z.array(rateSchema).default([]),
  packages: z.array(packageSchema).default([]),
});

export const tariffSchema = z.strictObject({
  tariffId: configId,
  currency: currencyCode,
  versions: z.array(tariffVersionSchema).min(1),
});

export const tariffsFileSchema = z.array(tariffSchema).min(1, "the file holds no tariffs");
export type Tariff = z.infer<typeof tariffSchema>;
export type TariffVersion = z.infer<typeof tariffVersionSchema>;
export type Rate = z.infer<typeof rateSchema>;
export type TariffPackage = z.infer<typeof packageSchema>;

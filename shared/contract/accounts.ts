/**
 * Accounts file contract (contract.md §2); defaults are those named in rating-rules.
 * Strict: an unknown key (e.g. `timeZone` for `timezone`) is refused, never silently dropped.
 * Cross-field checks (tariff, currency minor units, Marketplace dimension keys) are in core/config.ts.
 */
import { z } from "zod";
import { configId, currencyCode, ianaTimeZone, isRealDay, moneyString } from "./common.js";

export const azureSettingsSchema = z.strictObject({
  resourceId: z.string().min(1),
  planId: z.string().min(1),
  /** Our product code (or product.category) → the plan's Marketplace dimension id. */
  dimensions: z.record(z.string(), z.string().min(1)),
  /** Marketplace dimension id → quantity included in the plan per billing month. */
  includedQuantities: z.record(z.string(), z.number().nonnegative()).default({}),
});

export const accountSettingsSchema = z.strictObject({
  /** Answers session timeout, 1–1440 minutes (rating-rules §2.1); default 1440 (policy). */
  answersSessionTimeoutMinutes: z.number().int().min(1).max(1440).default(1440),
  /** Concurrent recording limit (rating-rules §5), default 10. */
  recordingLimit: z.number().int().min(0).default(10),
  conversationsFullSolution: z.boolean().default(false),
  conversationsLicenses: z.number().int().min(0).optional(),
  namedUserPricingStart: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "YYYY-MM-DD")
    .refine(isRealDay, "not a real calendar day")
    .optional(),
});

export const accountSchema = z
  .strictObject({
    accountId: configId,
    name: z.string().min(1),
    currency: currencyCode,
    timezone: ianaTimeZone.default("UTC"),
    tariffId: configId,
    billingChannel: z.enum(["direct", "azure-marketplace"]).default("direct"),
    settings: accountSettingsSchema.default(() => accountSettingsSchema.parse({})),
    commitments: z
      .array(z.strictObject({ serviceId: z.string().min(1), minimumAmount: moneyString }))
      .default([]),
    azure: azureSettingsSchema.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.billingChannel === "azure-marketplace" && !a.azure)
      ctx.addIssue({
        code: "custom",
        path: ["azure"],
        message: "required when billingChannel is azure-marketplace",
      });
  });

export const accountsFileSchema = z.array(accountSchema).min(1, "the file holds no accounts");
export type Account = z.infer<typeof accountSchema>;
export type AccountInput = z.input<typeof accountSchema>;

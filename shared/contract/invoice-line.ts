/** Invoice line contract (contract.md §4): the finance export, every value a string. */
import { z } from "zod";

export const lineTypes = [
  "usage",
  "package_fee",
  "package_overage",
  "recurring",
  "one_time",
  "commitment_true_up",
  "proration",
  "adjustment",
  "informational",
] as const;
export type LineType = (typeof lineTypes)[number];

export const invoiceLineColumns = [
  "account_id",
  "period",
  "line_id",
  "line_type",
  "product",
  "dimensions",
  "description",
  "quantity",
  "unit",
  "unit_price",
  "amount",
  "currency",
  "billing_channel",
  "reference_period",
  "tariff_version",
] as const;

const period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "YYYY-MM");
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, "decimal string");

export const invoiceLineSchema = z.object({
  account_id: z.string().min(1),
  period,
  line_id: z.string().min(1),
  line_type: z.enum(lineTypes),
  product: z.string().min(1),
  dimensions: z.string(),
  description: z.string(),
  quantity: decimal,
  unit: z.string(),
  unit_price: decimal,
  amount: decimal,
  currency: z.string().regex(/^[A-Z]{3}$/),
  billing_channel: z.enum(["direct", "azure-marketplace"]),
  reference_period: period,
  tariff_version: z.string(),
});
export type InvoiceLine = z.infer<typeof invoiceLineSchema>;

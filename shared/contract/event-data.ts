/**
 * The parts the `data` schemas of usage messages are built from (contract.md §1). Each product
 * family declares the `data` schema of its own event types beside its rule
 * (shared/core/products/<family>/schema.ts) from these parts, so every type checks a country, an
 * identifier or a flag the same way. Unknown extra keys in `data` are kept (passthrough) but
 * ignored by rating.
 */
import { z } from "zod";
import { isoInstant, isRealDateTime } from "./common.js";

export const nonEmpty = z.string().min(1);
export const country = z
  .string()
  .regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2 country code (two upper-case letters)");
export const blocked = z.boolean().optional();
export const seconds = z.number().int().nonnegative();
/** RFC 3339 with an explicit offset (Z or ±hh:mm). */
export const rfc3339 = isoInstant;
export const isoDay = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "YYYY-MM-DD")
  .refine((s) => isRealDateTime(`${s}T00:00:00Z`), "not a real day");

/** A `data` object: the keys rating reads, extra keys kept. */
export const data = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);

/** A message to an end user on an OTT channel: delivered or not, maybe blocked (G2). */
export const deliveredToEndUser = data({ endUserId: nonEmpty, delivered: z.boolean(), blocked });

/**
 * The base of every named error, defined in the contract (the layer below, whose own errors extend
 * it) and named from here by the core and the layers above.
 */
export { BillingError } from "../contract/errors.js";

/** A short readable form of an error for a dead letter's reason or a log line. */
export const describeError = (e: unknown): string =>
  e instanceof Error ? `${e.name}: ${e.message}` : String(e);

/**
 * The base of every named error, defined in the contract (the layer below, whose own errors extend
 * it) and named from here by the core and the layers above.
 */
export { BillingError } from "../contract/errors.js";

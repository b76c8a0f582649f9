/**
 * The base of every error the billing code names (as Powertools' idempotency `errors.ts`): one
 * class to catch them by, and `cause` (ES2022 `ErrorOptions`) to keep the error a named one wraps,
 * so a stack trace or a log shows what went wrong underneath. Each subclass names itself with a
 * string literal (`override readonly name = "…"`), which survives a minifying bundler.
 *
 * It lives in the contract, the bottom layer, because the contract's own errors (an invalid usage
 * message) extend it and the contract imports nothing else of ours; the core re-exports it.
 */
export class BillingError extends Error {
  override readonly name: string = "BillingError";
}

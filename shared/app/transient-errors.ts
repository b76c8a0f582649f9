/**
 * Which failures are worth retrying (SQS redelivery): throttling, server-side (5xx) and network
 * errors. Anything else — a validation error from the store, a missing table, a bug — would fail the
 * same way on every retry, so ingestion dead-letters the message with the error as its reason
 * instead of letting SQS move it, reasonless, to the DLQ. Reads the error's shape only (AWS SDK v3
 * `name`, `$retryable`, `$metadata.httpStatusCode`; Node's `code`), so the app imports no SDK.
 */
const TRANSIENT_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "TransactionConflictException",
  "TransactionInProgressException",
  "InternalServerError",
  "InternalServerErrorException",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "SlowDown",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  CancellationReasons?: { Code?: unknown }[];
  cause?: unknown;
}

export function isTransientError(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== "object" || depth > 3) return false;
  const err = e as ErrorShape;
  if (err.$retryable) return true;
  if (typeof err.name === "string" && TRANSIENT_NAMES.has(err.name)) return true;
  if (typeof err.code === "string" && NETWORK_CODES.has(err.code)) return true;
  const status = err.$metadata?.httpStatusCode;
  if (typeof status === "number" && (status >= 500 || status === 429)) return true;
  if (err.name === "TransactionCanceledException")
    return (err.CancellationReasons ?? []).some(
      (r) => r.Code === "ThrottlingError" || r.Code === "TransactionConflict",
    );
  if (e instanceof AggregateError) return e.errors.some((x) => isTransientError(x, depth + 1));
  return isTransientError(err.cause, depth + 1);
}

/** A short readable form of an error for a dead letter's reason. */
export const describeError = (e: unknown): string =>
  e instanceof Error ? `${e.name}: ${e.message}` : String(e);

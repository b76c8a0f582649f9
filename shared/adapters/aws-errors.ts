/**
 * Whose fault a failure is. The sender's faults are known in advance and named where they are found
 * (an invalid event, a body too large, an account without configuration: ingest-usage.ts); they are
 * dead-lettered with their reason, for the sender or an operator to fix. Every other failure is ours
 * or the platform's: throttling that outlasted the retries, AccessDenied (a broken grant), KMS
 * errors, timeouts, 5xx, a validation error from the store (our item sizing) or a bug. Those never
 * become dead letters: the message returns to SQS (batch item failure), so its redrive policy, its
 * DLQ and its alarms apply, and an operator is paged instead of valid usage turning quietly into
 * dead letters.
 *
 * The classification of service errors is the SDK's own (@smithy/core/retry, the same rules its retry
 * strategy applies), not a restated list; only the causes it does not name (access, KMS) are ours.
 * It lives with the adapters because it reads the AWS SDK's errors: the use cases in shared/app
 * import no AWS package, and receive what they need of it through a port (a blob store's
 * BlobRefusedError) or leave it to the handler (the ingest's log line names `causeOf`).
 */
import { isTransientError as isSdkTransient, isServerError, isThrottlingError } from "@smithy/core/retry";

/** Why one of our failures happened: a field of the ingest ERROR log line. */
export type OurFailureCause =
  | "throttled"
  | "access-denied"
  | "kms"
  | "timeout"
  | "unavailable"
  | "unexpected";

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number; clockSkewCorrected?: boolean };
  CancellationReasons?: { Code?: unknown }[];
  cause?: unknown;
}

/** The error, the errors it aggregates and its causes, depth-first (at most 4 levels). */
function* chainOf(e: unknown, depth = 0): Generator<ErrorShape & object> {
  if (!e || typeof e !== "object" || depth > 3) return;
  yield e as ErrorShape;
  if (e instanceof AggregateError) for (const x of e.errors) yield* chainOf(x, depth + 1);
  yield* chainOf((e as ErrorShape).cause, depth + 1);
}

// The SDK's classifiers take the SDK's error type; they read only its name, code and metadata.
type SdkError = Parameters<typeof isThrottlingError>[0];
const sdk = (e: ErrorShape) => e as unknown as SdkError;
const nameOf = (e: ErrorShape) => (typeof e.name === "string" ? e.name : "");
const cancelledBy = (e: ErrorShape, codes: readonly string[]) =>
  nameOf(e) === "TransactionCanceledException" &&
  (e.CancellationReasons ?? []).some((r) => typeof r.Code === "string" && codes.includes(r.Code));

// DynamoDB, SQS and S3 name KMS refusals KMS…Exception (e.g. KMSAccessDeniedException,
// KMSDisabledException) or say "KMS" in the message of a 400.
const isKms = (e: ErrorShape) =>
  nameOf(e).startsWith("KMS") || (typeof e.message === "string" && /\bkms\b/i.test(e.message));
// `code`: a statement's error code in a DynamoDB batch (StatementsRefusedError).
const isAccessDenied = (e: ErrorShape) =>
  /AccessDenied|UnrecognizedClient|InvalidClientTokenId|ExpiredToken|NotAuthorized|Forbidden/.test(
    nameOf(e),
  ) ||
  e.code === "AccessDenied" ||
  e.$metadata?.httpStatusCode === 403;
const isTimeout = (e: ErrorShape) =>
  /Timeout|TimedOut/.test(nameOf(e)) || e.code === "ETIMEDOUT" || nameOf(e) === "AbortError";

/** The cause of a failure that is not the sender's (the first that matches, most specific first). */
export function causeOf(e: unknown): OurFailureCause {
  const chain = [...chainOf(e)];
  if (chain.some((x) => isKms(x))) return "kms";
  if (chain.some((x) => isAccessDenied(x))) return "access-denied";
  if (chain.some((x) => isThrottlingError(sdk(x)) || cancelledBy(x, ["ThrottlingError"]))) return "throttled";
  if (chain.some((x) => isTimeout(x))) return "timeout";
  if (
    chain.some(
      (x) => isSdkTransient(sdk(x)) || isServerError(sdk(x)) || cancelledBy(x, ["TransactionConflict"]),
    )
  )
    return "unavailable";
  return "unexpected";
}

/**
 * Whether the same call may succeed when simply made again (throttling, 5xx, network, a transaction
 * conflict): used where a failure is tolerated rather than retried (e.g. a dead letter's body that
 * the blob store refused for good is kept as an excerpt).
 */
export function isTransientError(e: unknown): boolean {
  return [...chainOf(e)].some(
    (x) =>
      isThrottlingError(sdk(x)) ||
      isSdkTransient(sdk(x)) ||
      cancelledBy(x, ["ThrottlingError", "TransactionConflict"]),
  );
}

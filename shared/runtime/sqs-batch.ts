/**
 * The SQS batch loop every queue-fed function uses, equivalent to Powertools'
 * `processPartialResponse` (@aws-lambda-powertools/batch) with one difference: a record may ask to
 * be retried without having failed (e.g. a close another run holds), and only records that FAILED
 * count towards a full-batch failure. When every record of a batch failed, the loop throws, so the
 * function's Lambda `Errors` metric (and its alarm) sees an outage instead of a quiet batch of
 * item failures; SQS returns the whole batch to the queue either way.
 */
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { BillingError } from "../core/errors.js";

/** Every record of a batch failed: thrown so that Lambda counts an invocation error. */
export class SqsBatchFailedError extends BillingError {
  override readonly name: string = "SqsBatchFailedError";
  constructor(
    readonly failed: number,
    options?: { cause?: unknown },
  ) {
    super(`all ${failed} records of the batch failed; the batch returns to the queue`, options);
  }
}

/** A record's result: acknowledged (`done`) or returned to the queue without an error (`retry`). */
export type RecordResult = "done" | "retry";

/**
 * The batch response for records to return to the queue (`retry`: ids, failed or not) of which
 * `failed` failed; throws `onFullFailure()` (default SqsBatchFailedError) when every record failed.
 */
export function partialBatchResponse(
  records: readonly Pick<SQSRecord, "messageId">[],
  retry: readonly string[],
  failed: number,
  onFullFailure: () => Error = () => new SqsBatchFailedError(failed),
): SQSBatchResponse {
  if (records.length > 0 && failed === records.length) throw onFullFailure();
  return { batchItemFailures: retry.map((itemIdentifier) => ({ itemIdentifier })) };
}

/**
 * Runs `handle` on every record concurrently. A record that throws is returned to the queue and
 * reported to `onError`; one that answers `retry` is returned to the queue without counting as a
 * failure. Throws when every record threw.
 */
export async function processSqsRecords(
  records: readonly SQSRecord[],
  handle: (record: SQSRecord) => Promise<RecordResult>,
  onError: (record: SQSRecord, error: unknown) => void,
): Promise<SQSBatchResponse> {
  let failed = 0;
  let firstError: unknown;
  const results = await Promise.all(
    records.map(async (record) => {
      try {
        return await handle(record);
      } catch (e) {
        failed += 1;
        firstError ??= e;
        onError(record, e);
        return "retry";
      }
    }),
  );
  return partialBatchResponse(
    records,
    records.filter((_, i) => results[i] === "retry").map((r) => r.messageId),
    failed,
    () => new SqsBatchFailedError(failed, { cause: firstError }),
  );
}

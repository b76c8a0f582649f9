/**
 * The SQS batch response of the queue-fed functions. A function that handles its records one by one
 * (the close worker) runs them through Powertools' batch processor (`BatchProcessor`,
 * `processPartialResponse`, EventType.SQS): a record that throws is a batch item failure. Two
 * things are ours on top of it:
 * - a record may ask to go back to the queue without having failed (a close another run holds):
 *   it is reported as a batch item failure but does not count as a failure;
 * - when every record of a batch FAILED (retries alone do not count), the batch throws
 *   SqsBatchFailedError (with the first error as its cause) instead of Powertools' own
 *   FullBatchFailureError, so the function's Lambda `Errors` metric (and its alarm) sees an outage
 *   instead of a quiet batch of item failures; SQS returns the whole batch to the queue either way.
 * The ingest handles the whole invocation's batch as one unit (claims and attempts over all its
 * messages), not record by record: it only maps its result to the response (`partialBatchResponse`).
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSRecord } from "aws-lambda";
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

/** How a record that answered `retry` reaches the batch processor: an item failure, not an error of ours. */
class ReturnedToQueue extends BillingError {
  override readonly name = "ReturnedToQueue";
}

/**
 * Runs `handle` on every record concurrently (Powertools' BatchProcessor). A record that throws is
 * returned to the queue and reported to `onError`; one that answers `retry` is returned to the
 * queue without counting as a failure. Throws SqsBatchFailedError when every record threw.
 */
export async function processSqsRecords(
  records: readonly SQSRecord[],
  handle: (record: SQSRecord) => Promise<RecordResult>,
  onError: (record: SQSRecord, error: unknown) => void,
  context?: Context,
): Promise<SQSBatchResponse> {
  // One processor per batch: it holds the batch's records and results, and the local stack may run
  // two batches of one function at once in a process.
  const processor = new BatchProcessor(EventType.SQS);
  const response = await processPartialResponse(
    { Records: [...records] },
    async (record: SQSRecord) => {
      let result: RecordResult;
      try {
        result = await handle(record);
      } catch (e) {
        onError(record, e);
        // The processor reads `message` of what was thrown.
        throw e instanceof Error ? e : new Error(String(e), { cause: e });
      }
      if (result === "retry") throw new ReturnedToQueue(record.messageId);
    },
    processor,
    { ...(context ? { context } : {}), throwOnFullBatchFailure: false },
  );
  const failures = processor.errors.filter((e) => !(e instanceof ReturnedToQueue));
  if (records.length > 0 && failures.length === records.length)
    throw new SqsBatchFailedError(failures.length, { cause: failures[0] });
  return response;
}

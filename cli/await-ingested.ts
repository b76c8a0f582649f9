/**
 * `billing ingest` against a local stack (`billing stack start`, whose env sets BILLING_STACK_DIR)
 * returns only once the stack's poller has taken every message off the usage queue: no visible,
 * in-flight or delayed message (exact on the local SQS server). So `billing ingest` then
 * `billing close`, as the README and issue 10 run them, never closes before the events are stored.
 * No deadline (a slow machine is only slower): it gives up when the counters stop moving for
 * `stallMs` (the stack's poller is not running), naming what is left.
 */
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { EMPTY_COUNTERS as COUNTERS } from "../local/event-source-poller.js";
import { BillingError } from "../shared/core/errors.js";
import { MINUTE } from "../shared/core/time.js";

export class IngestNotTakenError extends BillingError {
  override readonly name = "IngestNotTakenError";
}

export async function awaitQueueTaken(
  sqs: SQSClient,
  queueUrl: string,
  opts: { stallMs?: number; pollMs?: number } = {},
): Promise<void> {
  const stallMs = opts.stallMs ?? 5 * MINUTE;
  const pollMs = opts.pollMs ?? 200;
  let last = "";
  let since = Date.now();
  for (;;) {
    const r = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...COUNTERS] }),
    );
    const counts = COUNTERS.map((c) => Number(r.Attributes?.[c] ?? 0));
    if (counts.every((n) => n === 0)) return;
    const now = counts.join("/");
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since > stallMs)
      throw new IngestNotTakenError(
        `the usage queue has not moved for ${Math.round(stallMs / 1000)} s (visible/in flight/delayed: ${now}); ` +
          "is the local stack running (`billing stack status`)?",
      );
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

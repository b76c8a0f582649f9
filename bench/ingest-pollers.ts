/**
 * What the ingest benches share: the command-line options of their pollers, and the pollers
 * themselves — SQS event-source pollers on the local stack's usage queue running the ingest
 * handler, as the deployed event source mapping runs it.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import { SqsEventSourcePoller, type SqsEventSourcePollerOptions } from "../local/event-source-poller.js";

/** `--concurrency` (pollers at once) and `--batch-size` (messages per invocation), for benchOptions. */
export const INGEST_POLLER_ARGS = { concurrency: 4, "batch-size": 1000 } as const;

/** `count` pollers of the usage queue, each invoking `options.handler` as the function ingest-usage. */
export const ingestPollers = (
  system: { readonly sqs: SQSClient; readonly queueUrls: { readonly usage: string } },
  count: number,
  options: Omit<SqsEventSourcePollerOptions, "sqs" | "queueUrl" | "functionName">,
): SqsEventSourcePoller[] =>
  Array.from(
    { length: count },
    () =>
      new SqsEventSourcePoller({
        sqs: system.sqs,
        queueUrl: system.queueUrls.usage,
        functionName: "ingest-usage",
        ...options,
      }),
  );

/** Runs the pollers until the queue is drained: the seconds it took, messages processed and failed. */
export async function drainPollers(
  pollers: readonly SqsEventSourcePoller[],
): Promise<{ seconds: number; processed: number; failed: number }> {
  const t0 = performance.now();
  const results = await Promise.all(pollers.map((p) => p.drain()));
  return {
    seconds: (performance.now() - t0) / 1000,
    processed: results.reduce((s, r) => s + r.processed, 0),
    failed: results.reduce((s, r) => s + r.failed, 0),
  };
}

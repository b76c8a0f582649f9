/**
 * Operator view of what could not be rated: the dead-letter store (invalid messages, with their
 * reason) and the SQS dead-letter queue (messages whose processing kept failing). Redrive puts
 * them back on the usage queue; idempotent ingestion (G5) makes a redrive safe to repeat.
 */
import type { DeadLetter, DeadLetterStore, UsageQueue } from "../ports/storage.js";

/** The SQS dead-letter queue, as the operator sees it. */
export interface FailedMessageQueue {
  peek(max: number): Promise<{ messageId: string; body: string; receiveCount: number }[]>;
  /** Moves every message to the usage queue; returns how many moved. */
  redriveAll(): Promise<number>;
}

export interface DeadLetterListing {
  readonly invalid: DeadLetter[];
  readonly failedProcessing: { messageId: string; body: string; receiveCount: number }[];
}

export async function listDeadLetters(
  store: DeadLetterStore,
  dlq?: FailedMessageQueue,
): Promise<DeadLetterListing> {
  return { invalid: await store.list(), failedProcessing: dlq ? await dlq.peek(100) : [] };
}

/** Sends the chosen letters (all when no ids) back to the usage queue, then removes them from the store. */
export async function redriveDeadLetters(
  store: DeadLetterStore,
  queue: UsageQueue,
  opts: { ids?: readonly string[]; dlq?: FailedMessageQueue } = {},
): Promise<{ redriven: number; fromQueue: number }> {
  const letters = (await store.list()).filter((l) => !opts.ids || opts.ids.includes(l.deadLetterId));
  for (const l of letters) {
    await queue.send([l.body]);
    await store.remove(l.deadLetterId);
  }
  const fromQueue = opts.dlq ? await opts.dlq.redriveAll() : 0;
  return { redriven: letters.length, fromQueue };
}

/**
 * Operator view of what could not be rated: the dead-letter store (invalid messages, with their
 * reason) and the SQS dead-letter queue (messages whose processing kept failing). Redrive puts
 * them back on the usage queue; idempotent ingestion (G5) makes a redrive safe to repeat.
 */
import type { DeadLetter, DeadLetterStore, UsageQueue } from "../ports/storage.js";

export interface FailedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
}

/** The SQS dead-letter queue, as the operator sees it. */
export interface FailedMessageQueue {
  /** Every message in the queue (however many: no page limit). */
  listAll(): Promise<FailedMessage[]>;
  /** Moves the messages with these ids (every message when none are given) to the usage queue; returns the ids moved. */
  redrive(ids?: ReadonlySet<string>): Promise<string[]>;
}

export interface DeadLetterListing {
  readonly invalid: DeadLetter[];
  readonly failedProcessing: FailedMessage[];
}

/**
 * Dead letters of lines the usage queue refused (never sent: a forbidden character, over the size
 * limit, invalid UTF-8): their id starts with this. They cannot be redriven as they are: the file's
 * line has to be fixed and ingested again.
 */
export const REFUSED_LINE_PREFIX = "line-";
export const isRefusedLine = (l: Pick<DeadLetter, "deadLetterId">) =>
  l.deadLetterId.startsWith(REFUSED_LINE_PREFIX);

/** Ids given to redrive that name nothing in the store or the dead-letter queue: nothing was redriven. */
export class UnknownDeadLetterError extends Error {
  override readonly name = "UnknownDeadLetterError";
  constructor(readonly ids: readonly string[]) {
    super(`no dead letter with id ${ids.join(", ")} (see \`billing dead-letters list\`)`);
  }
}

export async function listDeadLetters(
  store: DeadLetterStore,
  dlq?: FailedMessageQueue,
): Promise<DeadLetterListing> {
  return { invalid: await store.list(), failedProcessing: dlq ? await dlq.listAll() : [] };
}

export interface RedriveResult {
  /** Letters sent back from the dead-letter store. */
  readonly redriven: number;
  /** Messages moved from the SQS dead-letter queue. */
  readonly fromQueue: number;
  /** Letters left in the store, with why (refused lines, bodies the queue refuses). */
  readonly kept: { deadLetterId: string; reason: string }[];
}

/**
 * Sends the chosen letters back to the usage queue and removes them from the store, and moves the
 * chosen messages of the SQS dead-letter queue back too. With ids, only what they name (every id
 * must name a letter or a queued message, else nothing is done); without, everything.
 */
export async function redriveDeadLetters(
  store: DeadLetterStore,
  queue: UsageQueue,
  opts: { ids?: readonly string[]; dlq?: FailedMessageQueue } = {},
): Promise<RedriveResult> {
  const all = await store.list();
  const ids = opts.ids ? new Set(opts.ids) : undefined;
  if (ids) {
    const known = new Set(all.map((l) => l.deadLetterId));
    for (const m of opts.dlq ? await opts.dlq.listAll() : []) known.add(m.messageId);
    const unknown = [...ids].filter((id) => !known.has(id));
    if (unknown.length) throw new UnknownDeadLetterError(unknown);
  }
  const chosen = all.filter((l) => !ids || ids.has(l.deadLetterId));
  const kept: { deadLetterId: string; reason: string }[] = [];
  let redriven = 0;
  for (const l of chosen) {
    if (isRefusedLine(l)) {
      kept.push({
        deadLetterId: l.deadLetterId,
        reason: "the usage queue refused this line: fix it in its file and ingest it again",
      });
      continue;
    }
    const { refused } = await queue.send([l.body]);
    if (refused[0]) {
      kept.push({ deadLetterId: l.deadLetterId, reason: refused[0].reason });
      continue;
    }
    await store.remove(l.deadLetterId);
    redriven += 1;
  }
  const inStore = new Set(all.map((l) => l.deadLetterId));
  const queueIds = ids ? new Set([...ids].filter((id) => !inStore.has(id))) : undefined;
  const fromQueue =
    opts.dlq && (!queueIds || queueIds.size > 0) ? (await opts.dlq.redrive(queueIds)).length : 0;
  return { redriven, fromQueue, kept };
}

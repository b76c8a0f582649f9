/**
 * Operator view of what could not be rated: the dead-letter store (invalid messages, with their
 * reason) and the SQS dead-letter queue (messages whose processing kept failing). Redrive puts
 * them back on the usage queue; idempotent ingestion (G5) makes a redrive safe to repeat.
 */
import { createHash } from "node:crypto";
import { BillingError, describeError } from "../core/errors.js";
import { bodyElements } from "../core/message-body.js";
import { codePointPrefix, utf8Prefix } from "../core/utf8.js";
import { BlobRefusedError, type BlobStore } from "../ports/blob-store.js";
import type { FailedMessage, FailedMessageQueue } from "../ports/failed-message-queue.js";
import type { DeadLetter, DeadLetterStore, EventReference, UsageQueue } from "../ports/storage.js";

/** The queue's port lives in shared/ports; handlers and the CLI name it from here too. */
export type { EventReference, FailedMessage, FailedMessageQueue };

/** A dead letter's excerpt: the body's first 8 KiB (UTF-8); a body no longer is kept inline whole. */
export const EXCERPT_BYTES = 8 * 1024;
/** Reasons and subjects are cut to these lengths (a reason may quote a huge subject). */
export const MAX_REASON_CHARS = 2000;
export const MAX_SUBJECT_CHARS = 1024;

/** The longest prefix of s with at most maxBytes of UTF-8, never splitting a character. */
export { utf8Prefix };

/** s cut to max characters (UTF-16 units, never half a surrogate pair), saying how much was left out. */
export const boundText = (s: string, max: number): string => {
  if (s.length <= max) return s;
  const kept = codePointPrefix(s, max);
  return `${kept}… (${s.length - kept.length} more characters)`;
};

export interface DeadLetterInput {
  /** Default: the message id (a batch body's element: `<messageId>#<index>`). */
  readonly deadLetterId?: string;
  readonly messageId: string;
  readonly receivedAt: number;
  readonly reason: string;
  readonly body: string;
  readonly subject?: string;
}

/**
 * The `subject` a refused body names, indexing its dead letter by account; undefined when the
 * body is not JSON or names none.
 */
export const subjectOf = (body: string): string | undefined => {
  try {
    const s = (JSON.parse(body) as { subject?: unknown }).subject;
    return typeof s === "string" ? s : undefined;
  } catch {
    return undefined;
  }
};

const REFERENCE_FIELDS = ["source", "id", "type", "subject"] as const;

/** The CloudEvent attributes one parsed event has as strings (each bounded); undefined when none. */
function referenceOf(event: unknown): EventReference | undefined {
  if (event === null || typeof event !== "object" || Array.isArray(event)) return undefined;
  const ref: Record<string, string> = {};
  for (const f of REFERENCE_FIELDS) {
    const v = (event as Record<string, unknown>)[f];
    if (typeof v === "string") ref[f] = boundText(v, MAX_SUBJECT_CHARS);
  }
  return Object.keys(ref).length ? (ref as EventReference) : undefined;
}

/**
 * The events a body names, by source, id, type and subject: one for a single CloudEvent, one per
 * element for a batch body (a JSON array); none when it is not JSON. A sender finds its event by
 * these, never by our SQS message id.
 */
export function eventReferencesOf(body: string): EventReference[] {
  return bodyElements(body).flatMap((e) => {
    const r = referenceOf(e);
    return r ? [r] : [];
  });
}

/** The event a letter is about: as stored, else read from its kept body or excerpt (older letters). */
export function eventOfLetter(letter: DeadLetter): EventReference | undefined {
  if (letter.event) return letter.event;
  const [first, ...more] = eventReferencesOf(letter.body ?? letter.excerpt);
  return first && more.length === 0 ? first : undefined;
}

/**
 * Stores a dead letter of any size: reason, subject and excerpt bounded, SHA-256 of the body,
 * and the whole body inline when it fits the excerpt, else in the blob store (content-addressed).
 * If the blob store refuses the body for good (BlobRefusedError), the letter is still stored with its
 * excerpt (the reason is never lost); any other failure is thrown, so SQS retries the message.
 */
export async function putDeadLetter(
  deps: { readonly deadLetters: DeadLetterStore; readonly blobs?: BlobStore | undefined },
  input: DeadLetterInput,
): Promise<DeadLetter> {
  const { body } = input;
  const bodyBytes = Buffer.byteLength(body);
  const bodySha256 = createHash("sha256").update(body, "utf8").digest("hex");
  const excerpt = utf8Prefix(body, EXCERPT_BYTES);
  let kept: { body: string } | { bodyKey: string } | Record<string, never> = {};
  if (excerpt.length === body.length) kept = { body };
  else if (deps.blobs) {
    const bodyKey = `dead-letters/${bodySha256}`;
    try {
      await deps.blobs.put(bodyKey, body);
      kept = { bodyKey };
    } catch (e) {
      // Only a refusal for good is tolerated; anything else may pass on a retry, so SQS retries the message.
      if (!(e instanceof BlobRefusedError)) throw e;
      console.error(
        JSON.stringify({
          level: "ERROR",
          message: "dead letter body not kept",
          messageId: input.messageId,
          error: describeError(e.cause ?? e),
        }),
      );
    }
  }
  // Read from the whole body, which the excerpt of a large one cuts short of valid JSON.
  const [event, ...others] = eventReferencesOf(body);
  const letter: DeadLetter = {
    deadLetterId: input.deadLetterId ?? input.messageId, // an SQS re-delivery of the same message replaces, never doubles, its letter
    messageId: input.messageId,
    receivedAt: input.receivedAt,
    reason: boundText(input.reason, MAX_REASON_CHARS),
    ...(input.subject !== undefined && input.subject.length <= MAX_SUBJECT_CHARS
      ? { subject: input.subject }
      : {}),
    ...(event && others.length === 0 ? { event } : {}),
    excerpt,
    bodyBytes,
    bodySha256,
    ...kept,
  };
  await deps.deadLetters.put(letter);
  return letter;
}

/** The whole body of a letter (from the blob store when it was offloaded); undefined if it was not kept. */
export async function bodyOf(letter: DeadLetter, blobs?: BlobStore): Promise<string | undefined> {
  if (letter.body !== undefined) return letter.body;
  if (letter.bodyKey === undefined || !blobs) return undefined;
  return blobs.get(letter.bodyKey);
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
export class UnknownDeadLetterError extends BillingError {
  override readonly name = "UnknownDeadLetterError";
  constructor(readonly ids: readonly string[]) {
    super(`no dead letter with id ${ids.join(", ")} (see \`billing dead-letters list\`)`);
  }
}

/**
 * Every dead letter and every message of the SQS dead-letter queue; with `source`, only those about
 * an event from that CloudEvent source (a batch message: any of its events), so a sender's team is
 * handed its own.
 */
export async function listDeadLetters(
  store: DeadLetterStore,
  dlq?: FailedMessageQueue,
  filter: { readonly source?: string } = {},
): Promise<DeadLetterListing> {
  const listing = { invalid: await store.list(), failedProcessing: dlq ? await dlq.listAll() : [] };
  const { source } = filter;
  if (source === undefined) return listing;
  return {
    invalid: listing.invalid.filter((l) => eventOfLetter(l)?.source === source),
    failedProcessing: listing.failedProcessing.filter((m) =>
      eventReferencesOf(m.body).some((r) => r.source === source),
    ),
  };
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
 * Sends the chosen letters back to the usage queue — the whole body, fetched from the blob store when
 * it was offloaded and checked against its SHA-256 — and removes them from the store, and moves the
 * chosen messages of the SQS dead-letter queue back too. With ids, only what they name (every id
 * must name a letter or a queued message, else nothing is done); without, everything.
 */
export async function redriveDeadLetters(
  store: DeadLetterStore,
  queue: UsageQueue,
  opts: { ids?: readonly string[]; dlq?: FailedMessageQueue; blobs?: BlobStore } = {},
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
    const body = await bodyOf(l, opts.blobs);
    const intact =
      body !== undefined &&
      (l.bodySha256 === "" || createHash("sha256").update(body, "utf8").digest("hex") === l.bodySha256);
    if (body === undefined || !intact) {
      kept.push({
        deadLetterId: l.deadLetterId,
        reason:
          body === undefined
            ? `only an excerpt of the ${l.bodyBytes}-byte body was kept${l.bodyKey && !opts.blobs ? " (no blob store configured)" : ""}`
            : "the stored body does not match its SHA-256",
      });
      continue;
    }
    const { refused } = await queue.send([body]);
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

/**
 * Operator view of what could not be rated: the dead-letter store (invalid messages, with their
 * reason) and the SQS dead-letter queue (messages whose processing kept failing). Redrive puts
 * them back on the usage queue; idempotent ingestion (G5) makes a redrive safe to repeat.
 */
import { createHash } from "node:crypto";
import type { BlobStore } from "../ports/blob-store.js";
import type { DeadLetter, DeadLetterStore, UsageQueue } from "../ports/storage.js";
import { describeError, isTransientError } from "./transient-errors.js";

/** A dead letter's excerpt: the body's first 8 KiB (UTF-8); a body no longer is kept inline whole. */
export const EXCERPT_BYTES = 8 * 1024;
/** Reasons and subjects are cut to these lengths (a reason may quote a huge subject). */
export const MAX_REASON_CHARS = 2000;
export const MAX_SUBJECT_CHARS = 1024;

/** The longest prefix of s with at most maxBytes of UTF-8, never splitting a character. */
export function utf8Prefix(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let lo = 0;
  let hi = Math.min(s.length, maxBytes);
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (Buffer.byteLength(s.slice(0, mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  const code = s.charCodeAt(lo - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? lo - 1 : lo);
}

/** s cut to max characters, saying how much was left out. */
export const boundText = (s: string, max: number): string =>
  s.length <= max ? s : `${s.slice(0, max)}… (${s.length - max} more characters)`;

export interface DeadLetterInput {
  readonly messageId: string;
  readonly receivedAt: number;
  readonly reason: string;
  readonly body: string;
  readonly subject?: string;
}

/**
 * Stores a dead letter of any size (D11): reason, subject and excerpt bounded, SHA-256 of the body,
 * and the whole body inline when it fits the excerpt, else in the blob store (content-addressed).
 * If the blob store refuses the body for a non-transient reason, the letter is still stored with its
 * excerpt (the reason is never lost); a transient failure is thrown, so SQS retries the message.
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
      if (isTransientError(e)) throw e;
      console.error(
        JSON.stringify({
          level: "ERROR",
          message: "dead letter body not kept",
          messageId: input.messageId,
          error: describeError(e),
        }),
      );
    }
  }
  const letter: DeadLetter = {
    deadLetterId: input.messageId, // an SQS re-delivery of the same message replaces, never doubles, its letter
    messageId: input.messageId,
    receivedAt: input.receivedAt,
    reason: boundText(input.reason, MAX_REASON_CHARS),
    ...(input.subject !== undefined && input.subject.length <= MAX_SUBJECT_CHARS
      ? { subject: input.subject }
      : {}),
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

/**
 * Sends the chosen letters (all when no ids) back to the usage queue — the whole body, fetched from
 * the blob store when it was offloaded — then removes them from the store. A letter whose whole
 * body was not kept stays in the store and is listed in `notRedriven`.
 */
export async function redriveDeadLetters(
  store: DeadLetterStore,
  queue: UsageQueue,
  opts: { ids?: readonly string[]; dlq?: FailedMessageQueue; blobs?: BlobStore } = {},
): Promise<{ redriven: number; fromQueue: number; notRedriven?: { id: string; why: string }[] }> {
  const letters = (await store.list()).filter((l) => !opts.ids || opts.ids.includes(l.deadLetterId));
  const notRedriven: { id: string; why: string }[] = [];
  let redriven = 0;
  for (const l of letters) {
    const body = await bodyOf(l, opts.blobs);
    const intact =
      body !== undefined &&
      (l.bodySha256 === "" || createHash("sha256").update(body, "utf8").digest("hex") === l.bodySha256);
    if (body === undefined || !intact) {
      notRedriven.push({
        id: l.deadLetterId,
        why:
          body === undefined
            ? `only an excerpt of the ${l.bodyBytes}-byte body was kept${l.bodyKey && !opts.blobs ? " (no blob store configured)" : ""}`
            : "the stored body does not match its SHA-256",
      });
      continue;
    }
    await queue.send([body]);
    await store.remove(l.deadLetterId);
    redriven += 1;
  }
  const fromQueue = opts.dlq ? await opts.dlq.redriveAll() : 0;
  return { redriven, fromQueue, ...(notRedriven.length ? { notRedriven } : {}) };
}

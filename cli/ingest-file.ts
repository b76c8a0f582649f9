/**
 * Ingest files (JSONL, one usage message a line) as `billing ingest` and `billing simulate` send them.
 * Lines are read as raw bytes so that invalid UTF-8 is seen (not silently turned into U+FFFD); a line
 * that cannot be sent (invalid UTF-8, a character SQS refuses, over the queue's size limit) becomes a
 * dead letter naming the file, the line number and the reason, and the other lines are sent.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { eventReferencesOf, REFUSED_LINE_PREFIX, subjectOf } from "../shared/app/dead-letters.js";
import { BillingError } from "../shared/core/errors.js";
import { codePointPrefix } from "../shared/core/utf8.js";
import type { Clock } from "../shared/ports/clock.js";
import type { DeadLetterStore, UsageQueue } from "../shared/ports/storage.js";

export class IngestFileError extends BillingError {
  override readonly name = "IngestFileError";
}

export interface IngestLine {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly raw: Buffer;
  /** The line's text; for invalid UTF-8, a rendering with each bad byte as `\xNN`. */
  readonly text: string;
  /** Why it cannot be sent at all (invalid UTF-8), found before any queue is asked. */
  readonly invalid?: string;
}

export interface RefusedLine {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
  readonly deadLetterId: string;
}

/** Characters of a refused line kept in its dead letter (the line itself can never be sent). */
export const REFUSED_EXCERPT_CHARS = 4_096;

/** Every non-blank line of the file, as bytes and text. */
export async function readIngestFile(file: string): Promise<IngestLine[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new IngestFileError(`${file}: cannot be read: ${(e as Error).message}`, { cause: e });
  }
  const lines: IngestLine[] = [];
  let start = 0;
  for (let n = 1; start <= bytes.length; n++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    let raw = bytes.subarray(start, end);
    if (raw.at(-1) === 0x0d) raw = raw.subarray(0, -1);
    start = end + 1;
    if (raw.every((b) => b === 0x20 || b === 0x09 || b === 0x0d)) continue;
    const scan = scanUtf8(raw);
    lines.push({
      line: n,
      raw,
      text: scan.text,
      ...(scan.firstBad !== undefined
        ? {
            invalid: `not valid UTF-8 (byte 0x${hex(raw[scan.firstBad] ?? 0)} at byte offset ${scan.firstBad})`,
          }
        : {}),
    });
  }
  return lines;
}

/**
 * Sends the file's lines to the usage queue. Lines that cannot be sent are dead-lettered (id
 * `line-…`, deterministic: ingesting the same file again replaces them, never doubles them).
 */
export async function sendIngestLines(
  file: string,
  lines: readonly IngestLine[],
  deps: { queue: UsageQueue; deadLetters: DeadLetterStore; clock: Clock },
): Promise<{ sent: number; refused: RefusedLine[] }> {
  const sendable = lines.filter((l) => l.invalid === undefined);
  const { refused: byQueue } = await deps.queue.send(sendable.map((l) => l.text));
  const refusals = [
    ...lines.flatMap((l) => (l.invalid !== undefined ? [{ l, reason: l.invalid }] : [])),
    ...byQueue.flatMap((r) => {
      const l = sendable[r.index];
      return l ? [{ l, reason: r.reason }] : [];
    }),
  ].sort((a, b) => a.l.line - b.l.line);
  const refused: RefusedLine[] = [];
  for (const { l, reason } of refusals) {
    const sha = createHash("sha256").update(l.raw).digest("hex");
    const deadLetterId = `${REFUSED_LINE_PREFIX}${createHash("sha256")
      .update(`${resolve(file)}\n${l.line}\n${sha}`)
      .digest("hex")
      .slice(0, 32)}`;
    const excerpt = l.text.length > REFUSED_EXCERPT_CHARS;
    const full = `${file} line ${l.line}: ${reason} (${l.raw.length} bytes, sha256 ${sha}${
      excerpt ? `; its first ${REFUSED_EXCERPT_CHARS} characters are kept` : ""
    })`;
    const subject = subjectOf(l.text);
    // A refused batch line names several events: the file and line name them all. The reference is
    // read from the line made parseable (bad bytes as U+FFFD, control characters as spaces): it only
    // has to let the sender find the event, and those are the very reasons such lines are refused.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what is replaced
    const readable = new TextDecoder().decode(l.raw).replace(/[\u0000-\u001f]/g, " ");
    const [event, ...others] = eventReferencesOf(readable);
    await deps.deadLetters.put({
      deadLetterId,
      messageId: `${file}:${l.line}`,
      receivedAt: deps.clock.now(),
      reason: full,
      // Not redriven (the queue would refuse the same bytes): the excerpt is for reading only.
      excerpt: excerpt ? codePointPrefix(l.text, REFUSED_EXCERPT_CHARS) : l.text,
      bodyBytes: l.raw.length,
      bodySha256: sha,
      ...(subject !== undefined ? { subject } : {}),
      ...(event && others.length === 0 ? { event } : {}),
    });
    refused.push({ file, line: l.line, reason, deadLetterId });
  }
  return { sent: sendable.length - byQueue.length, refused };
}

/** `file:line` of a refused line's dead letter (its messageId), split back. */
export function refusedLineOrigin(messageId: string): { file: string; line: number } | undefined {
  const m = /^(.*):(\d+)$/.exec(messageId);
  return m?.[1] !== undefined ? { file: m[1], line: Number(m[2]) } : undefined;
}

const hex = (b: number) => b.toString(16).toUpperCase().padStart(2, "0");

/**
 * Decodes UTF-8 strictly (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). Valid
 * input gives its text; otherwise the offset of the first bad byte and a text where every byte that
 * is not part of a valid sequence reads `\xNN` (never U+FFFD, so it cannot pass for the original).
 */
export function scanUtf8(bytes: Uint8Array): { text: string; firstBad?: number } {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  try {
    return { text: decoder.decode(bytes) };
  } catch {
    // fall through: find the bad bytes
  }
  let text = "";
  let firstBad: number | undefined;
  let runStart = 0;
  let i = 0;
  const flush = (to: number) => {
    if (to > runStart) text += decoder.decode(bytes.subarray(runStart, to));
  };
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    flush(i);
    firstBad ??= i;
    text += `\\x${hex(bytes[i] ?? 0)}`;
    i += 1;
    runStart = i;
  }
  flush(i);
  return firstBad === undefined ? { text } : { text, firstBad };
}

/** Length of the valid UTF-8 sequence starting at i, or 0. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i] ?? 0;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c >= 0xe1 && c <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/**
 * Ingesting one usage message: validate (contract §1), store it once in the ledger (G5), and mark
 * each period whose charges it can change (its own; for a Viber session message also the period
 * that may have opened its session, §3.1) for adjustment when already closed (G7). Rating itself
 * happens at close.
 *
 * Whatever the message, it ends stored, dropped as a duplicate, or dead-lettered with a reason
 * (D3, D12). Only transient failures (throttling, 5xx, network) are thrown for SQS to retry; a
 * missing configuration and any other unexpected error dead-letter the message with that reason,
 * so an operator redrives it once the cause is fixed.
 */
import { createHash } from "node:crypto";
import { instantOf } from "../contract/common.js";
import { InvalidUsageMessageError, parseUsageMessage } from "../contract/usage-event.js";
import type { BillingConfig } from "../core/config.js";
import { periodsChangedBy } from "../core/rating/engine.js";
import { DAY } from "../core/time.js";
import type { BlobStore } from "../ports/blob-store.js";
import type { Clock } from "../ports/clock.js";
import {
  type DeadLetterStore,
  type LedgerStore,
  NoConfigurationError,
  type PeriodStore,
} from "../ports/storage.js";
import { boundText, putDeadLetter } from "./dead-letters.js";
import { describeError, isTransientError } from "./transient-errors.js";

export type IngestOutcome =
  | { kind: "stored"; accountId: string; late: boolean }
  | { kind: "duplicate"; accountId: string }
  | { kind: "conflict"; accountId: string }
  | { kind: "dead-lettered"; reason: string };

export interface IngestDeps {
  readonly ledger: LedgerStore;
  readonly periods: PeriodStore;
  readonly deadLetters: DeadLetterStore;
  /** Where a dead letter's body too large for its item is kept whole (the exports bucket). */
  readonly blobs?: BlobStore | undefined;
  /** The receipt clock: `receivedAt` of each message (deployed: the system clock). */
  readonly clock: Clock;
  readonly config: () => Promise<BillingConfig>;
}

/** A usage message body may be at most 256 KiB (UTF-8): its ledger item must fit DynamoDB's 400 KB (D12). */
export const MAX_BODY_BYTES = 256 * 1024;
/** An event dated more than this after its receipt is refused (D12, policy). */
export const FUTURE_TOLERANCE_MS = DAY;
/** The reason of a message that arrives before any configuration was loaded. */
export const NO_CONFIGURATION = "no billing configuration loaded";

/** Canonical JSON (sorted keys) so that the same content always hashes the same (G5 conflicts). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

const subjectOf = (body: string): string | undefined => {
  try {
    const s = (JSON.parse(body) as { subject?: unknown }).subject;
    return typeof s === "string" ? s : undefined;
  } catch {
    return undefined;
  }
};

export async function ingestUsageMessage(
  body: string,
  messageId: string,
  deps: IngestDeps,
): Promise<IngestOutcome> {
  const receivedAt = deps.clock.now();
  const deadLetter = async (reason: string): Promise<IngestOutcome> => {
    const subject = subjectOf(body);
    const letter = await putDeadLetter(deps, {
      messageId,
      receivedAt,
      reason,
      body,
      ...(subject !== undefined ? { subject } : {}),
    });
    return { kind: "dead-lettered", reason: letter.reason };
  };
  try {
    return await ingestValid(body, receivedAt, deps, deadLetter);
  } catch (e) {
    if (e instanceof NoConfigurationError) return deadLetter(NO_CONFIGURATION);
    if (isTransientError(e)) throw e;
    return deadLetter(`processing failed (not retried): ${describeError(e)}`);
  }
}

async function ingestValid(
  body: string,
  receivedAt: number,
  deps: IngestDeps,
  deadLetter: (reason: string) => Promise<IngestOutcome>,
): Promise<IngestOutcome> {
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_BODY_BYTES)
    return deadLetter(`message body is ${bytes} bytes; a usage message may be at most ${MAX_BODY_BYTES}`);
  let event: ReturnType<typeof parseUsageMessage>;
  try {
    event = parseUsageMessage(body);
  } catch (e) {
    if (e instanceof InvalidUsageMessageError) return deadLetter(e.reason);
    throw e;
  }
  const t = instantOf(event.time);
  // Usage is reported after it happens; a far-future time is a clock or unit error upstream (D12).
  if (t > receivedAt + FUTURE_TOLERANCE_MS)
    return deadLetter(
      `event time ${event.time} is more than 24 hours after the message was received (${new Date(receivedAt).toISOString()})`,
    );
  const config = await deps.config();
  const account = config.accounts.find((a) => a.accountId === event.subject);
  // Not lost: once the account is configured, an operator redrives it.
  if (!account) return deadLetter(`unknown account "${boundText(event.subject, 200)}" (subject)`);

  const hash = createHash("sha256")
    .update(canonicalJson({ type: event.type, subject: event.subject, time: t, data: event.data }))
    .digest("hex");
  const outcome = await deps.ledger.record({ ...event, t }, { hash, receivedAt, body });
  if (outcome.kind !== "stored") return outcome;

  // G7: written first, then checked, so that an event stored after a close began is always marked.
  let late = false;
  for (const period of periodsChangedBy({ ...event, t }, account.timezone)) {
    if (!(await deps.periods.getClose(account.accountId, period))) continue;
    await deps.periods.markLate(account.accountId, period, receivedAt);
    late = true;
  }
  return { kind: "stored", accountId: account.accountId, late };
}

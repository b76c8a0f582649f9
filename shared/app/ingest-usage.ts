/**
 * Ingesting one usage message: validate (contract §1), store it once in the ledger (G5), and mark
 * its period for adjustment when that period was already closed (G7). Rating itself happens at close.
 */
import { createHash } from "node:crypto";
import { instantOf } from "../contract/common.js";
import { InvalidUsageMessageError, parseUsageMessage } from "../contract/usage-event.js";
import type { BillingConfig } from "../core/config.js";
import { periodOf } from "../core/time.js";
import type { Clock } from "../ports/clock.js";
import type { DeadLetterStore, LedgerStore, PeriodStore } from "../ports/storage.js";

export type IngestOutcome =
  | { kind: "stored"; accountId: string; late: boolean }
  | { kind: "duplicate"; accountId: string }
  | { kind: "conflict"; accountId: string }
  | { kind: "dead-lettered"; reason: string };

export interface IngestDeps {
  readonly ledger: LedgerStore;
  readonly periods: PeriodStore;
  readonly deadLetters: DeadLetterStore;
  readonly clock: Clock;
  readonly config: () => Promise<BillingConfig>;
}

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
    await deps.deadLetters.put({
      deadLetterId: messageId, // an SQS re-delivery of the same message replaces, never doubles, its letter
      messageId,
      receivedAt,
      reason,
      body,
      ...(subject !== undefined ? { subject } : {}),
    });
    return { kind: "dead-lettered", reason };
  };

  let event: ReturnType<typeof parseUsageMessage>;
  try {
    event = parseUsageMessage(body);
  } catch (e) {
    if (e instanceof InvalidUsageMessageError) return deadLetter(e.reason);
    throw e;
  }
  const config = await deps.config();
  const account = config.accounts.find((a) => a.accountId === event.subject);
  // Not lost: once the account is configured, an operator redrives it.
  if (!account) return deadLetter(`unknown account "${event.subject}" (subject)`);

  const t = instantOf(event.time);
  const hash = createHash("sha256")
    .update(canonicalJson({ type: event.type, subject: event.subject, time: t, data: event.data }))
    .digest("hex");
  const outcome = await deps.ledger.record({ ...event, t }, { hash, receivedAt, body });
  if (outcome.kind !== "stored") return outcome;

  // G7: written first, then checked, so that an event stored after a close began is always marked.
  const period = periodOf(t, account.timezone);
  const close = await deps.periods.getClose(account.accountId, period);
  if (close) await deps.periods.markLate(account.accountId, period, receivedAt);
  return { kind: "stored", accountId: account.accountId, late: close !== undefined };
}

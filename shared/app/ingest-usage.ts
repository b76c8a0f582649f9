/**
 * Ingesting a batch of usage messages (one handler invocation): validate each event (contract §1; a
 * body may be one event or a JSON array of events), derive a counted event's contribution to its
 * monthly counters with the rating rules (counters.ts), store the batch once per identity (G5) in
 * one commit per attempt (usage-store.ts), then mark closed periods late (G7, D4 write-then-check).
 */
import { createHash } from "node:crypto";
import { InvalidUsageMessageError, parseUsageMessage } from "../contract/usage-event.js";
import { type BillingConfig, configIndex } from "../core/config.js";
import { contributionOf } from "../core/rating/counters.js";
import type { PeriodId } from "../core/time.js";
import type { Clock } from "../ports/clock.js";
import type { CloseRecord, DeadLetterStore, PeriodStore } from "../ports/storage.js";
import type { AccountDirectory, PreparedEvent, RatedAccount, UsageStore } from "../ports/usage-store.js";

export type IngestOutcome =
  | { kind: "stored"; accountId: string; late: boolean }
  | { kind: "duplicate"; accountId: string }
  | { kind: "conflict"; accountId: string }
  | { kind: "dead-lettered"; reason: string };

export interface IngestDeps {
  readonly usage: UsageStore;
  readonly periods: PeriodStore;
  readonly deadLetters: DeadLetterStore;
  readonly clock: Clock;
  readonly accounts: AccountDirectory;
}

export interface UsageMessage {
  readonly messageId: string;
  readonly body: string;
}

export interface IngestBatchResult {
  /** One outcome per event that was handled, message by message. */
  readonly outcomes: IngestOutcome[];
  /** Messages to deliver again (SQS batch item failures): a transient error, or an event claimed by a running attempt. */
  readonly retry: string[];
}

/** A raw event larger than this is dead-lettered: a page item must stay under DynamoDB's 400 KB. */
export const MAX_EVENT_BYTES = 300_000;

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

/** One event of a message: the whole body, or one element of a CloudEvents JSON batch. */
interface Candidate {
  readonly messageId: string;
  /** The SQS message id for a single-event body; `<messageId>#<index>` for a batch element. */
  readonly deadLetterId: string;
  readonly body: string;
}

function candidatesOf(m: UsageMessage): Candidate[] | { reason: string } {
  // Contract §1: a JSON array is a CloudEvents batch; anything else is one event.
  if (!m.body.trimStart().startsWith("["))
    return [{ messageId: m.messageId, deadLetterId: m.messageId, body: m.body }];
  let list: unknown;
  try {
    list = JSON.parse(m.body);
  } catch (e) {
    return { reason: `body is not JSON: ${(e as Error).message}` };
  }
  if (!Array.isArray(list) || list.length === 0)
    return { reason: "empty CloudEvents batch (JSON array without events)" };
  return list.map((element, i) => ({
    messageId: m.messageId,
    deadLetterId: `${m.messageId}#${i}`,
    body: JSON.stringify(element),
  }));
}

export async function ingestBatch(
  messages: readonly UsageMessage[],
  deps: IngestDeps,
): Promise<IngestBatchResult> {
  const now = deps.clock.now();
  const outcomes: IngestOutcome[] = [];
  const retry = new Set<string>();
  const letters: { c: Candidate; reason: string }[] = [];
  const prepared: { c: Candidate; p: PreparedEvent }[] = [];
  const batchAccounts = new Map<string, Promise<RatedAccount | undefined>>();

  for (const m of messages) {
    const candidates = candidatesOf(m);
    if (!Array.isArray(candidates)) {
      letters.push({
        c: { messageId: m.messageId, deadLetterId: m.messageId, body: m.body },
        reason: candidates.reason,
      });
      continue;
    }
    for (const c of candidates) {
      let event: ReturnType<typeof parseUsageMessage>;
      try {
        event = parseUsageMessage(c.body);
      } catch (e) {
        if (e instanceof InvalidUsageMessageError) letters.push({ c, reason: e.reason });
        else throw e;
        continue;
      }
      let rated: RatedAccount | undefined;
      try {
        rated = await deps.accounts.lookup(event.subject, batchAccounts);
      } catch {
        retry.add(c.messageId); // configuration unreadable now: a transient error, retried
        continue;
      }
      // Not lost: once the account is configured, an operator redrives it.
      if (!rated) {
        letters.push({ c, reason: `unknown account "${event.subject}" (subject)` });
        continue;
      }
      const t = Date.parse(event.time);
      const ledgerEvent = { ...event, t };
      const contribution = contributionOf(rated.account, rated.tariff, ledgerEvent);
      if (!contribution.counted && Buffer.byteLength(c.body) > MAX_EVENT_BYTES) {
        letters.push({
          c,
          reason: `event of ${Buffer.byteLength(c.body)} bytes: more than ${MAX_EVENT_BYTES} cannot be stored`,
        });
        continue;
      }
      const hash = createHash("sha256")
        .update(canonicalJson({ type: event.type, subject: event.subject, time: t, data: event.data }))
        .digest("hex");
      prepared.push({
        c,
        p: { event: ledgerEvent, hash, accountId: rated.account.accountId, contribution, body: c.body },
      });
    }
  }

  // Bad events never block good ones: each is dead-lettered on its own, with its reason (D3).
  await Promise.all(
    letters.map(async ({ c, reason }) => {
      try {
        const subject = subjectOf(c.body);
        await deps.deadLetters.put({
          // A re-delivery of the same message replaces, never doubles, its letter.
          deadLetterId: c.deadLetterId,
          messageId: c.messageId,
          receivedAt: now,
          reason,
          body: c.body,
          ...(subject !== undefined ? { subject } : {}),
        });
        outcomes.push({ kind: "dead-lettered", reason });
      } catch {
        retry.add(c.messageId);
      }
    }),
  );

  const toStore = prepared.filter(({ c }) => !retry.has(c.messageId));
  let stored: Awaited<ReturnType<UsageStore["ingest"]>>;
  try {
    stored = await deps.usage.ingest(
      toStore.map(({ p }) => p),
      now,
    );
  } catch (e) {
    for (const { c } of toStore) retry.add(c.messageId);
    logError("ingest failed; the batch is delivered again", e);
    return { outcomes, retry: [...retry] };
  }

  // G7 (D4): after the commit, the close record of each (account, period) is read once per batch,
  // for duplicates too, so that a crash between the commit and the late mark is repaired by the
  // re-delivery. Either the close read the event, or the event sees the close record.
  const closes = new Map<string, Promise<CloseRecord | undefined>>();
  const late = new Map<string, boolean>();
  try {
    for (const s of stored) {
      if (s.kind !== "stored" && s.kind !== "duplicate") continue;
      const k = JSON.stringify([s.accountId, s.period]);
      if (!closes.has(k)) closes.set(k, checkLate(deps, s.accountId, s.period, now));
    }
    const found = await Promise.all(closes.values());
    for (const [i, k] of [...closes.keys()].entries()) late.set(k, found[i] !== undefined);
  } catch (e) {
    for (const { c } of toStore) retry.add(c.messageId);
    logError("late-period check failed; the batch is delivered again", e);
    return { outcomes, retry: [...retry] };
  }

  stored.forEach((s, i) => {
    const { c } = toStore[i]!;
    if (s.kind === "retry") retry.add(c.messageId);
    else if (s.kind === "stored")
      outcomes.push({
        kind: "stored",
        accountId: s.accountId,
        late: late.get(JSON.stringify([s.accountId, s.period])) === true,
      });
    else outcomes.push({ kind: s.kind, accountId: s.accountId });
  });
  return { outcomes, retry: [...retry] };
}

async function checkLate(deps: IngestDeps, accountId: string, period: PeriodId, now: number) {
  const close = await deps.periods.getClose(accountId, period);
  if (close) await deps.periods.markLate(accountId, period, now);
  return close;
}

function logError(message: string, e: unknown) {
  console.error(JSON.stringify({ level: "ERROR", message, error: String(e) }));
}

/** An account directory over an in-memory configuration (tests, tools). */
export function directoryOf(config: BillingConfig): AccountDirectory {
  const index = configIndex(config);
  return {
    lookup: async (accountId) => {
      const account = index.account(accountId);
      return account ? { account, tariff: index.tariffOf(account) } : undefined;
    },
  };
}

/**
 * Ingesting a batch of usage messages (one handler invocation): validate each event (contract §1; a
 * body may be one event or a JSON array of events), derive a counted event's contribution to its
 * monthly counters with the rating rules (counters.ts), store the batch once per identity (G5) in
 * one commit per attempt (usage-store.ts), then mark closed periods late (G7, write-then-check):
 * each period whose charges an event can change, as its rules declare (products/<family>/index.ts): its own;
 * for a Viber session message also the period that may have opened its session (§3.1); and when
 * its type carries state into later periods, the marker says so and the close follows the state
 * forward through the later closed periods (close-period.ts) — one marker per (account, period)
 * and batch, never a read of history.
 *
 * Whatever the message, it ends stored, dropped as a duplicate, dead-lettered with a reason, or
 * returned to the queue. Only the sender's faults are dead-lettered: an invalid event, a
 * body too large, an unknown account or no configuration at all, each found and named here. Any
 * other failure is ours or the platform's (throttling past the retries, AccessDenied, KMS, a
 * timeout, a bug): the message returns to SQS, whose redrive policy and alarms apply, and the
 * handler counts it (shared/adapters/aws-errors.ts). A committed event is therefore never dead-lettered.
 */
import { createHash } from "node:crypto";
import { instantOf } from "../contract/common.js";
import { InvalidUsageMessageError } from "../contract/usage-event.js";
import {
  ACCOUNT_ENDED,
  type AccountHistory,
  endedBefore,
  periodOfAccount,
  versionForPeriod,
} from "../core/account-versions.js";
import { type BillingConfig, configIndex } from "../core/config.js";
import { isTooOld } from "../core/identity-retention.js";
import { compositeKey } from "../core/keys.js";
import {
  builtInProducts,
  changesLaterPeriods,
  type ProductCatalogue,
  type UsageEvent,
} from "../core/products/index.js";
import { contributionOf } from "../core/rating/counters.js";
import { periodsChangedBy } from "../core/rating/engine.js";
import { DAY, periodWindow } from "../core/time.js";
import type { BlobStore } from "../ports/blob-store.js";
import type { Clock } from "../ports/clock.js";
import type { LateConflictStore } from "../ports/late-conflicts.js";
import {
  type CloseRecord,
  type DeadLetterStore,
  NoConfigurationError,
  type PeriodStore,
} from "../ports/storage.js";
import type { UnclosedUsageIndex } from "../ports/unclosed-usage.js";
import type { AccountDirectory, PreparedEvent, RatedAccount, UsageStore } from "../ports/usage-store.js";
import { boundText, putDeadLetter, subjectOf } from "./dead-letters.js";
import { foldAccounts, foldDepsOf } from "./fold-usage.js";

export type IngestOutcome =
  | { kind: "stored"; accountId: string; late: boolean }
  | { kind: "duplicate"; accountId: string }
  | { kind: "conflict"; accountId: string }
  | { kind: "dead-lettered"; reason: string };

export interface IngestDeps {
  readonly usage: UsageStore;
  readonly periods: PeriodStore;
  readonly deadLetters: DeadLetterStore;
  /** Where a dead letter's body too large for its item is kept whole (the exports bucket). */
  readonly blobs?: BlobStore | undefined;
  /** The receipt clock: `receivedAt` of each message (deployed: the system clock). */
  readonly clock: Clock;
  readonly accounts: AccountDirectory;
  /** Conflicts whose first copy's period is closed go here for the next close report (G5). */
  readonly lateConflicts?: LateConflictStore;
  /**
   * Where an ended account's late event enters the period whose close bills its adjustment
   * (contract §2): no other close of that account would run.
   */
  readonly unclosed?: UnclosedUsageIndex;
  /**
   * The products whose events are accepted, counted and marked late (default: the built-in
   * registry). A catalogue with families outside the built-in list (a test product) parses their
   * events here; past the parser they travel as `UsageEvent` (the built-in types), since nothing
   * on the way to the store reads more than the envelope, and each rule narrows its own types.
   */
  readonly products?: ProductCatalogue;
}

export interface UsageMessage {
  readonly messageId: string;
  readonly body: string;
}

export interface IngestBatchResult {
  /** One outcome per event that was handled, message by message. */
  readonly outcomes: IngestOutcome[];
  /** Messages to deliver again (SQS batch item failures): a failure of ours, or an event claimed by a running attempt. */
  readonly retry: string[];
  /** Our failures behind `retry`: the handler logs and counts them, naming their cause (aws-errors.ts). */
  readonly failures: { messageId: string; error: unknown }[];
}

/** An event (one body, or one element of a batch body) may be at most 256 KiB of UTF-8. */
export const MAX_BODY_BYTES = 256 * 1024;
/** An event dated more than this after its receipt is refused (policy). */
export const FUTURE_TOLERANCE_MS = DAY;
/** The reason of a message that arrives before any configuration was loaded. */
export const NO_CONFIGURATION = "no billing configuration loaded";

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
  const products = deps.products ?? builtInProducts;
  const outcomes: IngestOutcome[] = [];
  const retry = new Set<string>();
  const failures: { messageId: string; error: unknown }[] = [];
  const fail = (messageId: string, error: unknown) => {
    if (!retry.has(messageId)) failures.push({ messageId, error });
    retry.add(messageId);
  };
  const letters: { c: Candidate; reason: string }[] = [];
  const prepared: { c: Candidate; p: PreparedEvent; timezone: string; history?: AccountHistory }[] = [];
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
      const bytes = Buffer.byteLength(c.body);
      if (bytes > MAX_BODY_BYTES) {
        letters.push({
          c,
          reason: `${c.deadLetterId === c.messageId ? "message body" : "batch element"} is ${bytes} bytes; a usage message may be at most ${MAX_BODY_BYTES}`,
        });
        continue;
      }
      let event: UsageEvent;
      try {
        event = products.parseUsageMessage(c.body) as UsageEvent;
      } catch (e) {
        if (e instanceof InvalidUsageMessageError) letters.push({ c, reason: e.reason });
        else throw e;
        continue;
      }
      let rated: RatedAccount | undefined;
      try {
        rated = await deps.accounts.lookup(event.subject, batchAccounts);
      } catch (e) {
        if (e instanceof NoConfigurationError) letters.push({ c, reason: NO_CONFIGURATION });
        else fail(c.messageId, e); // the configuration store failed: ours, not the sender's
        continue;
      }
      // Not lost: once the account is configured, an operator redrives it.
      if (!rated) {
        letters.push({ c, reason: `unknown account "${boundText(event.subject, 200)}" (subject)` });
        continue;
      }
      const t = instantOf(event.time);
      // Usage is reported after it happens; a far-future time is a clock or unit error upstream.
      if (t > now + FUTURE_TOLERANCE_MS) {
        letters.push({
          c,
          reason: `event time ${event.time} is more than 24 hours after the message was received (${new Date(now).toISOString()})`,
        });
        continue;
      }
      // G5: identities are forgotten 400 days after the event (TTL); an older event could be a
      // re-delivery of one already counted, so it is refused rather than counted again.
      if (isTooOld(t, now)) {
        letters.push({
          c,
          reason: `too old: event time ${event.time} is more than 400 days before the message was received (${new Date(now).toISOString()})`,
        });
        continue;
      }
      // Contract §2: an ended account's events after its end are refused; the others are rated with
      // the version of the account's configuration that rates their period (its zone schedule too).
      if (rated.history && endedBefore(rated.history, t)) {
        letters.push({
          c,
          reason: `${ACCOUNT_ENDED}: "${boundText(event.subject, 200)}" was omitted from the accounts file loaded at ${new Date(rated.history.endedAt ?? 0).toISOString()}; the event's time ${event.time} is after that`,
        });
        continue;
      }
      const version = rated.history
        ? versionForPeriod(rated.history, periodOfAccount(rated.history, t))
        : rated;
      const ledgerEvent = { ...event, t };
      const contribution = contributionOf(version.account, version.tariff, ledgerEvent, products);
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
      // Its own period, and each earlier one its rules reach back to (a Viber session's opener),
      // with whether its type carries state into later periods (its family's declaration): the
      // fold checks them for a close once the event is applied.
      const later = changesLaterPeriods(event.type, products);
      const checks = [
        ...new Set([
          contribution.period,
          ...periodsChangedBy(ledgerEvent, version.account.timezone, products),
        ]),
      ].map((period) => [period, later] as const);
      prepared.push({
        c,
        p: {
          event: ledgerEvent,
          hash,
          accountId: rated.account.accountId,
          contribution,
          body: c.body,
          periodEnd: periodWindow(contribution.period, version.account.timezone).end,
          checks,
        },
        timezone: version.account.timezone,
        ...(rated.history ? { history: rated.history } : {}),
      });
    }
  }

  // Bad events never block good ones: each is dead-lettered on its own, with its reason.
  const deadLetterEach = (items: readonly { c: Candidate; reason: string }[]) =>
    Promise.all(
      items.map(async ({ c, reason }) => {
        try {
          const subject = subjectOf(c.body);
          const letter = await putDeadLetter(deps, {
            // A re-delivery of the same message replaces, never doubles, its letter.
            deadLetterId: c.deadLetterId,
            messageId: c.messageId,
            receivedAt: now,
            reason,
            body: c.body,
            ...(subject !== undefined ? { subject } : {}),
          });
          outcomes.push({ kind: "dead-lettered", reason: letter.reason });
        } catch (e) {
          fail(c.messageId, e);
        }
      }),
    );
  await deadLetterEach(letters);

  const toStore = prepared.filter(({ c }) => !retry.has(c.messageId));
  let stored: Awaited<ReturnType<UsageStore["ingest"]>>;
  try {
    stored = await deps.usage.ingest(
      toStore.map(({ p }) => p),
      now,
    );
  } catch (e) {
    // Every event here passed the sender's checks: a storage failure is ours, whatever it is (some of
    // the batch may even have committed), so the messages go back to the queue, never to dead letters.
    for (const { c } of toStore) fail(c.messageId, e);
    return { outcomes, retry: [...retry], failures };
  }

  // G7: the late check is the fold's (fold-usage.ts, write-then-check): it reads the close record
  // of each (account, period) it applies, after its writes. The local run folds the batch's shards
  // right away (duplicates' too, so a fold a crash interrupted is finished by the re-delivery).
  let late = new Set<string>();
  try {
    const fold = deps.usage.foldInline ? foldDepsOf(deps) : undefined;
    if (fold) {
      const accounts = new Set<string>();
      for (const [i, s] of stored.entries()) if (s.kind !== "retry") accounts.add(toStore[i]!.p.accountId);
      late = await foldAccounts(accounts, fold);
    }
    // G5: a conflict whose first copy's period is closed (or being closed) cannot be in that period's
    // report: it is kept for the account's next close report and the operators' listing. The close
    // record is read, not marked late: a conflict changes no charge.
    const lateConflicts = deps.lateConflicts;
    if (lateConflicts) {
      const records = new Map<string, Promise<CloseRecord | undefined>>();
      await Promise.all(
        stored.map(async (s, i) => {
          if (s.kind !== "conflict") return;
          const { p } = toStore[i]!;
          const k = compositeKey(s.accountId, s.period);
          if (!records.has(k)) records.set(k, deps.periods.getClose(s.accountId, s.period));
          if (!(await records.get(k))) return;
          await lateConflicts.recordLateConflict({
            accountId: s.accountId,
            referencePeriod: s.period,
            source: p.event.source,
            id: p.event.id,
            hash: p.hash,
            seenAt: now,
          });
        }),
      );
    }
  } catch (e) {
    for (const { c } of toStore) fail(c.messageId, e);
    return { outcomes, retry: [...retry], failures };
  }

  stored.forEach((s, i) => {
    const { c, p } = toStore[i]!;
    if (s.kind === "retry")
      retry.add(c.messageId); // held by a running attempt: not an error
    else if (s.kind === "stored")
      outcomes.push({
        kind: "stored",
        accountId: s.accountId,
        late: (p.checks ?? [[s.period, false]]).some(([period]) =>
          late.has(compositeKey(s.accountId, period)),
        ),
      });
    else outcomes.push({ kind: s.kind, accountId: s.accountId });
  });
  return { outcomes, retry: [...retry], failures };
}

/**
 * One message on its own (tools and tests): its outcome, or the transient error that would have
 * returned it to the queue.
 */
export async function ingestUsageMessage(
  body: string,
  messageId: string,
  deps: IngestDeps,
): Promise<IngestOutcome> {
  const r = await ingestBatch([{ messageId, body }], deps);
  if (r.failures[0]) throw r.failures[0].error;
  if (r.retry.length > 0) throw new Error(`message ${messageId} is held by a running attempt; retry it`);
  const [outcome] = r.outcomes;
  if (!outcome) throw new Error(`message ${messageId} gave no outcome`);
  return outcome;
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

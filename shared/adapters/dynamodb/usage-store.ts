/**
 * The usage store on the billing table (docs/data-model.md has the full model and its arithmetic).
 *
 * | item                 | pk                                   | sk                         |
 * |----------------------|--------------------------------------|----------------------------|
 * | identity claim (G5)  | ID#<JSON [source, id]>               | ID                         |
 * | attempt commit       | COMMIT#<attempt id>                  | COMMIT                     |
 * | monthly counter      | CTR#<account>#<period>#<shard>       | <JSON counter key>         |
 * | (counted events `e`  | on a counter item, or on             | #EVENTS                    |
 * |  of an attempt)      | CTR#<account>#<period>#<shard>       |                            |
 * | page of raw events   | EVT#<account>#<period>#<shard>       | <attempt id>#<n>           |
 * | usage period marker  | ACCT#<account>                       | USAGE#<period>             |
 * | conflict (G5)        | ACCT#<account>                       | CONFLICT#<JSON>#<hash>     |
 * | conflict index       | CONFLICTS#<account>#<period>         | <JSON>#<hash>              |
 * | carry-over snapshot  | SNAP#<account>#<period>              | PART#<write id>#<n>, HEAD  |
 *
 * Protocol of one `ingest` call (one handler invocation):
 * 1. period markers (once per container and (account, period));
 * 2. the batch's distinct identities are split into attempts (each commits in ONE transaction of
 *    ≤ 100 items); each identity is claimed by its attempt with a conditional insert, 25 per
 *    request (`ReturnValuesOnConditionCheckFailure: ALL_OLD`; where the service returns no item
 *    for a duplicate, one consistent BatchGetItem per 100 duplicates reads the existing claims);
 * 3. a claim owned by another attempt X: X committed → duplicate or conflict (first wins); X aborted
 *    → take the claim over; X neither and older than the cutoff → X is dead: abort it (put
 *    COMMIT#X "aborted" if absent, so X's own commit can never succeed), then take over; X young →
 *    "retry" (SQS delivers the message again later);
 * 4. each attempt writes its effects and its commit record in one TransactWriteItems: counters
 *    (ADD), pages, and COMMIT#<attempt> (attribute_not_exists). Effects exist iff the commit does.
 * On an unexpected error the attempts not committed abort themselves (best effort), so that an
 * immediate re-delivery can take their claims over; after a crash, the cutoff does it.
 */
import { createHash, randomInt, randomUUID } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import {
  type AttributeValue,
  BatchExecuteStatementCommand,
  BatchGetItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { compareStrings } from "../../core/compare.js";
import { BillingError } from "../../core/errors.js";
import { EXPIRES_AT_ATTRIBUTE, identityExpiresAt } from "../../core/identity-retention.js";
import { compositeKey } from "../../core/keys.js";
import { mapLimit } from "../../core/map-limit.js";
import { dec } from "../../core/money.js";
import type { CarriedFacts } from "../../core/rating/carry.js";
import {
  type CounterDelta,
  counterKey,
  mergeDeltas,
  type PeriodCounters,
} from "../../core/rating/counters.js";
import type { EventSample, LedgerEvent } from "../../core/rating/types.js";
import { DAY, type PeriodId, periodOf, periodWindow, shiftPeriod } from "../../core/time.js";
import { utf8Parts, utf8Prefix } from "../../core/utf8.js";
import type { LedgerStore } from "../../ports/storage.js";
import {
  type PeriodConflict,
  type PreparedEvent,
  type RawEventsReadOptions,
  type ShardsOf,
  type StoreOutcome,
  shardsOf,
  type UsagePeriod,
  type UsageStore,
} from "../../ports/usage-store.js";
import { attemptJournals, writeJournals } from "./fold/attempt-journal.js";
import { DynamoUsageJournal } from "./fold/usage-journal.js";
import { checkedCompressed, MAX_PAYLOAD_BYTES } from "./item-size.js";
import { isConditionFailure } from "./paginate.js";
import { putUnclosedUsage } from "./unclosed-usage.js";

/** Shards of one (account, period)'s counters and pages (data-model.md: partition heat). */
export const USAGE_SHARDS = 16;
/**
 * An attempt is one commit record over journals of plain puts (no transaction): its size is bounded
 * only so that one invocation's events (Lambda's 6 MB payload) stay one attempt.
 */
const MAX_TRANSACT_ITEMS = Number.POSITIVE_INFINITY;
const MAX_TRANSACT_BYTES = 12_000_000;
/** UTF-8 bytes of raw JSON per page item before compression (item-size.ts: an item holds at most 400 KB). */
const MAX_PAGE_JSON = MAX_PAYLOAD_BYTES;
/**
 * An attempt is taken over once it is older than this many ingest-function timeouts. The invocation
 * that made it started its clock (`now`, stamped on its claims) at most one timeout before it died,
 * so anything older than a timeout is dead; three is the least that leaves room for clock skew
 * between containers and the SDK's last retry, and four keeps the cut-off under the usage queue's
 * visibility timeout (6 timeouts): a crashed batch's re-delivery finds its claims already free.
 */
export const ATTEMPT_CUTOFF_TIMEOUTS = 4;
export const MIN_ATTEMPT_CUTOFF_TIMEOUTS = 3;
/** The ingest function's timeout when none is given (infra: INGEST_TIMEOUT). */
export const DEFAULT_INGEST_TIMEOUT_MS = 30_000;

/** The take-over cut-off for an ingest function timeout (never below MIN_ATTEMPT_CUTOFF_TIMEOUTS of it). */
export const attemptCutoffMsFor = (ingestTimeoutMs: number): number =>
  ATTEMPT_CUTOFF_TIMEOUTS * ingestTimeoutMs;
export const DEFAULT_ATTEMPT_CUTOFF_MS = attemptCutoffMsFor(DEFAULT_INGEST_TIMEOUT_MS);
/** A conflicting body is kept up to this many UTF-8 bytes (the item limit is 400 KB; the rest is key and hashes). */
const MAX_CONFLICT_BODY = 256_000;

type Av = AttributeValue;
type ItemAv = Record<string, Av>;

const S = (s: string): Av => ({ S: s });
const N = (n: number | string): Av => ({ N: String(n) });
/**
 * The event identity (G5) as a key. A pair longer than 512 bytes (source ≤ 1,024 bytes, id ≤ 256
 * characters) is keyed by its SHA-256, so `ID#` and `CONFLICT#` keys stay within DynamoDB's limits
 * (sort key ≤ 1,024 bytes); short ones keep their readable form (D12).
 */
const identityOf = (e: LedgerEvent) => {
  const key = JSON.stringify([e.source, e.id]);
  return Buffer.byteLength(key) <= 512 ? key : `sha256:${createHash("sha256").update(key).digest("hex")}`;
};
const claimKey = (identity: string): ItemAv => ({ pk: S(`ID#${identity}`), sk: S("ID") });
const commitKey = (attempt: string): ItemAv => ({ pk: S(`COMMIT#${attempt}`), sk: S("COMMIT") });
export const ctrPk = (account: string, period: PeriodId, shard: number) =>
  `CTR#${account}#${period}#${shard}`;
export const evtPk = (account: string, period: PeriodId, shard: number) =>
  `EVT#${account}#${period}#${shard}`;
export const EVENTS_SK = "#EVENTS";
/** A counter's sample identity (D26), when short enough to keep the counter item under 1 KB. */
const MAX_SAMPLE_JSON = 300;
const _counterSample = (e: LedgerEvent, storedAt: number): string | undefined => {
  const json = JSON.stringify({ source: e.source, id: e.id, time: e.time, storedAt } satisfies EventSample);
  return Buffer.byteLength(json) <= MAX_SAMPLE_JSON ? json : undefined;
};
/** The close report's index of an (account, period)'s conflicts: small items, no bodies (D16). */
const conflictsPk = (account: string, period: PeriodId) => `CONFLICTS#${account}#${period}`;

/**
 * Per-statement errors of a BatchExecuteStatement (BatchStatementErrorCodeEnum) worth sending again:
 * the service refused this statement now, not for good.
 */
const RETRIED_STATEMENT_CODES = new Set([
  "ThrottlingError",
  "ProvisionedThroughputExceeded",
  "RequestLimitExceeded",
  "InternalServerError",
  "TransactionConflict",
]);
const THROTTLED_STATEMENT_CODES = new Set([
  "ThrottlingError",
  "ProvisionedThroughputExceeded",
  "RequestLimitExceeded",
]);
/** Attempts of a statement the service keeps refusing (about 2.5 s of back-off in all). */
const STATEMENT_ATTEMPTS = 9;

/**
 * Statements of a batch (identity claims, conflict inserts) that the service refused: throttled
 * past their retries, or refused outright (e.g. AccessDenied). Never the sender's fault: the
 * messages return to the queue. A throttled one carries the SDK's throttling trait (`$retryable`),
 * so it classifies as the SDK classifies a throttled request.
 */
export class StatementsRefusedError extends BillingError {
  override readonly name = "StatementsRefusedError";
  readonly $retryable: { throttling: boolean } | undefined;
  constructor(
    readonly what: string,
    /** The statement's error code (BatchStatementErrorCodeEnum). */
    readonly code: string,
    message: string,
    readonly attempts: number,
  ) {
    super(`${what}: ${code} after ${attempts} attempt(s): ${message}`);
    this.$retryable = THROTTLED_STATEMENT_CODES.has(code) ? { throttling: true } : undefined;
  }
}

/** Back-off before the next attempt of refused statements: full jitter, 5 ms up to 640 ms. */
const statementBackoff = (retry: number) =>
  new Promise((res) => setTimeout(res, randomInt(5, 20 * 2 ** Math.min(retry, 5))));

export interface UsageStoreOptions {
  readonly shards?: number;
  /** The ingest function's timeout: the take-over cut-off is derived from it (attemptCutoffMsFor). */
  readonly ingestTimeoutMs?: number;
  /**
   * The cut-off itself, for tests that move a virtual clock past it; at least
   * MIN_ATTEMPT_CUTOFF_TIMEOUTS × `ingestTimeoutMs` when both are given.
   */
  readonly attemptCutoffMs?: number;
  /**
   * Claim requests (of 25 inserts) in flight at once, and claim resolutions (default 16: 30,000
   * events, Lambda's 6 MB payload, take ≈ 1,200 requests; DynamoDB Local, one JVM, prefers fewer).
   */
  readonly claimConcurrency?: number;
  /**
   * Fold each batch's shards right after it is stored (default: the local run and tests, where what
   * was ingested must be readable at once). Deployed ingest sets false: the scheduled fold does it.
   */
  readonly foldInline?: boolean;
}

interface Winner {
  readonly hash: string;
  readonly accountId: string;
  readonly period: PeriodId;
  readonly t: number;
}

/** The effects an attempt will commit, grown event by event within the transaction limits. */
class AttemptPlan {
  readonly id: string;
  readonly shard: number;
  readonly members: number[] = [];
  private readonly counterKeys = new Set<string>();
  private readonly pages = new Map<string, { bytes: number; n: number }>();
  private items = 1; // the commit record
  private bytes = 200;

  constructor(now: number, shards: number) {
    this.id = `${now}-${randomUUID()}`;
    this.shard = randomInt(shards);
  }

  /** Adds the event if it fits (always when the attempt is empty). */
  tryAdd(index: number, p: PreparedEvent): boolean {
    const c = p.contribution;
    const apKey = compositeKey(p.accountId, c.period);
    let items = 0;
    let bytes = 0;
    let page: { bytes: number; n: number } | undefined;
    let newCounterKeys: string[] = [];
    if (c.counted) {
      // The event count rides on a counter item; an event with no charge may need the #EVENTS item.
      const keys = c.deltas.length > 0 ? c.deltas.map((d) => counterKey(d)) : [EVENTS_SK];
      newCounterKeys = keys.map((k) => `${apKey}${k}`).filter((k) => !this.counterKeys.has(k));
      items += newCounterKeys.length;
      bytes += newCounterKeys.reduce((s, k) => s + k.length + 150, 0);
    } else {
      const size = Buffer.byteLength(JSON.stringify(p.event)) + 1;
      const cur = this.pages.get(apKey);
      if (!cur || cur.bytes + size > MAX_PAGE_JSON) {
        items += 1;
        page = { bytes: size, n: (cur?.n ?? 0) + 1 };
      } else page = { bytes: cur.bytes + size, n: cur.n };
      bytes += size;
    }
    if (
      this.members.length > 0 &&
      (this.items + items > MAX_TRANSACT_ITEMS || this.bytes + bytes > MAX_TRANSACT_BYTES)
    )
      return false;
    this.members.push(index);
    for (const k of newCounterKeys) this.counterKeys.add(k);
    if (page) this.pages.set(apKey, page);
    this.items += items;
    this.bytes += bytes;
    return true;
  }
}

export class DynamoUsageStore implements UsageStore, LedgerStore {
  private readonly shards: number;
  /** Claims of an attempt older than this are taken over (its invocation is dead). */
  readonly cutoffMs: number;
  private readonly claimConcurrency: number;
  private readonly snapshots: DynamoSnapshotStore;
  readonly journal: DynamoUsageJournal;
  readonly foldInline: boolean;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    opts: UsageStoreOptions = {},
  ) {
    this.shards = opts.shards ?? USAGE_SHARDS;
    const timeoutMs = opts.ingestTimeoutMs ?? DEFAULT_INGEST_TIMEOUT_MS;
    this.cutoffMs = opts.attemptCutoffMs ?? attemptCutoffMsFor(timeoutMs);
    if (this.cutoffMs < MIN_ATTEMPT_CUTOFF_TIMEOUTS * (opts.ingestTimeoutMs ?? 0))
      throw new RangeError(
        `the take-over cut-off (${this.cutoffMs} ms) must be at least ${MIN_ATTEMPT_CUTOFF_TIMEOUTS} ingest timeouts (${timeoutMs} ms)`,
      );
    this.claimConcurrency = opts.claimConcurrency ?? 16;
    this.snapshots = new DynamoSnapshotStore(client, table);
    this.foldInline = opts.foldInline ?? true;
    this.journal = new DynamoUsageJournal(client, table, this.cutoffMs, {
      markUsage: (accountId, period, cs, ps, end) => markUsage(client, table, accountId, period, cs, ps, end),
      ctrPk,
      evtPk,
      eventsSk: EVENTS_SK,
      packPages,
    });
  }

  snapshotAt(accountId: string, period: PeriodId): Promise<CarriedFacts | undefined> {
    return this.snapshots.snapshotAt(accountId, period);
  }

  putSnapshot(accountId: string, snapshot: CarriedFacts): Promise<void> {
    return this.snapshots.putSnapshot(accountId, snapshot);
  }

  async ingest(events: readonly PreparedEvent[], now: number): Promise<StoreOutcome[]> {
    if (events.length === 0) return [];

    // Distinct identities, in arrival order: the first occurrence is the one claimed.
    const groups = new Map<string, number[]>();
    events.forEach((p, i) => {
      const k = identityOf(p.event);
      const g = groups.get(k);
      if (g) g.push(i);
      else groups.set(k, [i]);
    });
    const attempts: AttemptPlan[] = [];
    const attemptOf = new Map<number, AttemptPlan>();
    // Attempts are filled account by account, so that an account's counters land in as few as possible.
    const firsts = [...groups.values()].map((g) => g[0]!);
    const accountKey = (i: number) => compositeKey(events[i]!.accountId, events[i]!.contribution.period);
    firsts.sort((x, y) => {
      return compareStrings(accountKey(x), accountKey(y)) || x - y;
    });
    for (const i of firsts) {
      let a = attempts.at(-1);
      if (!a?.tryAdd(i, events[i]!)) {
        a = new AttemptPlan(now, this.shards);
        attempts.push(a);
        a.tryAdd(i, events[i]!);
      }
      attemptOf.set(i, a);
    }

    // Claims, then the resolution of claims held by other attempts.
    const mine = new Set<number>();
    const winners = new Map<string, Winner | "retry">();
    const commitStates = new Map<string, Promise<"committed" | "aborted" | "none">>();
    const aborts = new Map<string, Promise<"committed" | "aborted">>();
    const committedAttempts = new Set<string>();
    try {
      const existing = await this.claimAll(
        [...groups].map(([identity, [first]]) => ({
          identity,
          p: events[first!]!,
          attempt: attemptOf.get(first!)!.id,
        })),
        now,
      );
      await mapLimit([...groups], this.claimConcurrency, async ([identity, [first]]) => {
        const i = first!;
        const p = events[i]!;
        const attempt = attemptOf.get(i)!;
        const old = existing.get(identity);
        if (!old) {
          mine.add(i);
          return;
        }
        const owner = old.o?.S ?? "";
        // Our own claim: a claim request that landed but whose reply was lost, sent again by the
        // SDK, answers "already there" with what it wrote. The event is this attempt's to commit;
        // taken for another's, it would be a "duplicate" of the attempt's commit without being in it.
        if (owner === attempt.id) {
          mine.add(i);
          return;
        }
        const winner: Winner = {
          hash: old.h?.S ?? "",
          accountId: old.a?.S ?? "",
          period: old.p?.S ?? "",
          t: Number(old.t?.N ?? p.event.t),
        };
        let state = await memo(commitStates, owner, () => this.commitState(owner));
        if (state === "none") {
          if (now - Number(old.at?.N ?? 0) < this.cutoffMs) {
            winners.set(identity, "retry");
            return;
          }
          // One abort per dead attempt, however many of its claims this batch meets.
          state = await memo(aborts, owner, () => this.abort(owner, now));
        }
        if (state === "committed") {
          winners.set(identity, winner);
          return;
        }
        if (await this.takeOver(identity, p, owner, attempt.id, now)) mine.add(i);
        else winners.set(identity, "retry");
      });

      // One transaction per attempt: its effects and its commit record, atomically.
      await mapLimit(attempts, 4, async (a) => {
        const members = a.members.filter((i) => mine.has(i));
        if (members.length === 0) return;
        if (
          await this.commitAttempt(
            a,
            members.map((i) => events[i]!),
            now,
          )
        )
          committedAttempts.add(a.id);
        else for (const i of members) winners.set(identityOf(events[i]!.event), "retry");
      });
    } catch (e) {
      // Release our claims for an immediate re-delivery: an aborted attempt's claims are taken over.
      await Promise.allSettled(
        attempts.filter((a) => !committedAttempts.has(a.id)).map((a) => this.abort(a.id, now)),
      );
      throw e;
    }

    const out: StoreOutcome[] = new Array(events.length);
    const conflicts: [PreparedEvent, Winner][] = [];
    for (const [identity, indexes] of groups) {
      const first = indexes[0]!;
      const w: Winner | "retry" | undefined = mine.has(first)
        ? winners.get(identity) === "retry"
          ? "retry"
          : {
              hash: events[first]!.hash,
              accountId: events[first]!.accountId,
              period: events[first]!.contribution.period,
              t: events[first]!.event.t,
            }
        : winners.get(identity);
      for (const i of indexes) {
        const p = events[i]!;
        if (w === undefined || w === "retry")
          out[i] = { kind: "retry", reason: "claimed by a running attempt" };
        else if (i === first && mine.has(first))
          out[i] = { kind: "stored", accountId: w.accountId, period: w.period };
        else if (p.hash === w.hash) out[i] = { kind: "duplicate", accountId: w.accountId, period: w.period };
        else {
          conflicts.push([p, w]);
          out[i] = { kind: "conflict", accountId: w.accountId, period: w.period };
        }
      }
    }
    await this.putConflicts(conflicts, now);
    return out;
  }

  /**
   * Claims every identity for its attempt: conditional inserts, 25 per request (PartiQL
   * BatchExecuteStatement; each statement is its own conditional put, 1 WRU, not a transaction).
   * Returns the existing claim of each identity another attempt holds: from the failed statement
   * (ReturnValuesOnConditionCheckFailure ALL_OLD) when the service returns it, else read back in
   * one strongly consistent BatchGetItem per 100 (an INSERT on an existing key answers DuplicateItem
   * without the item; duplicates are the rare path of re-deliveries).
   */
  private async claimAll(
    claims: readonly { identity: string; p: PreparedEvent; attempt: string }[],
    now: number,
  ): Promise<Map<string, ItemAv>> {
    const existing = new Map<string, ItemAv>();
    const toRead: string[] = [];
    const statement = `INSERT INTO "${this.table.replaceAll('"', '""')}" VALUE {'pk': ?, 'sk': ?, 'h': ?, 'a': ?, 'p': ?, 't': ?, 'o': ?, 'at': ?, '${EXPIRES_AT_ATTRIBUTE}': ?}`;
    const chunks: (typeof claims)[number][][] = [];
    for (let i = 0; i < claims.length; i += 25) chunks.push(claims.slice(i, i + 25));
    await mapLimit(chunks, this.claimConcurrency, async (chunk) => {
      let pending = chunk;
      for (let retry = 0; pending.length > 0; retry++) {
        const r = await this.client.send(
          new BatchExecuteStatementCommand({
            Statements: pending.map(({ identity, p, attempt }) => {
              const a = claimAttributes(p, attempt, now);
              const key = claimKey(identity);
              return {
                Statement: statement,
                Parameters: [key.pk!, key.sk!, a.h!, a.a!, a.p!, a.t!, a.o!, a.at!, a[EXPIRES_AT_ATTRIBUTE]!],
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              };
            }),
          }),
        );
        const again: typeof pending = [];
        let refused: { Code?: string; Message?: string } | undefined;
        pending.forEach((c, i) => {
          const error = r.Responses?.[i]?.Error;
          if (!error) return;
          if (error.Code === "DuplicateItem" || error.Code === "ConditionalCheckFailed") {
            if (error.Item) existing.set(c.identity, error.Item);
            else toRead.push(c.identity);
          } else {
            refused ??= error;
            again.push(c); // that statement alone again, if the service may take it later
          }
        });
        if (refused && (!RETRIED_STATEMENT_CODES.has(refused.Code ?? "") || retry + 1 >= STATEMENT_ATTEMPTS))
          throw new StatementsRefusedError(
            "identity claims",
            refused.Code ?? "unknown",
            refused.Message ?? "",
            retry + 1,
          );
        if (again.length > 0) await statementBackoff(retry);
        pending = again;
      }
    });
    for (let i = 0; i < toRead.length; i += 100) {
      let keys = toRead.slice(i, i + 100).map(claimKey);
      for (let retry = 0; keys.length > 0; retry++) {
        const r = await this.client.send(
          new BatchGetItemCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of r.Responses?.[this.table] ?? []) existing.set(item.pk!.S!.slice(3), item);
        keys = r.UnprocessedKeys?.[this.table]?.Keys ?? [];
        // Unprocessed keys are what a throttled batch read answers.
        if (keys.length > 0 && retry + 1 >= STATEMENT_ATTEMPTS)
          throw new StatementsRefusedError(
            "claim reads",
            "ThrottlingError",
            "keys left unprocessed",
            retry + 1,
          );
        if (keys.length > 0) await statementBackoff(retry);
      }
    }
    for (const id of toRead)
      if (!existing.has(id)) throw new Error(`claim of ${id} failed but the existing claim cannot be read`);
    return existing;
  }

  private async takeOver(
    identity: string,
    p: PreparedEvent,
    from: string,
    attempt: string,
    now: number,
  ): Promise<boolean> {
    const a = claimAttributes(p, attempt, now);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: claimKey(identity),
          UpdateExpression: "SET h = :h, a = :a, p = :p, t = :t, o = :o, #at = :at, #x = :x",
          ConditionExpression: "o = :from",
          ExpressionAttributeNames: { "#at": "at", "#x": EXPIRES_AT_ATTRIBUTE },
          ExpressionAttributeValues: {
            ":h": a.h!,
            ":a": a.a!,
            ":p": a.p!,
            ":t": a.t!,
            ":o": a.o!,
            ":at": a.at!,
            ":x": a[EXPIRES_AT_ATTRIBUTE]!,
            ":from": S(from),
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false; // another attempt took it over first
      throw e;
    }
  }

  private async commitState(attempt: string): Promise<"committed" | "aborted" | "none"> {
    const r = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: commitKey(attempt), ConsistentRead: true }),
    );
    const s = r.Item?.s?.S;
    return s === "committed" ? "committed" : s === "aborted" ? "aborted" : "none";
  }

  /** Marks the attempt aborted unless it committed first; returns which one holds. */
  private async abort(attempt: string, now: number): Promise<"committed" | "aborted"> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          // Needed only while the dead attempt's claims name it; those of events up to a day ahead
          // of now (the future tolerance) expire by then.
          Item: {
            ...commitKey(attempt),
            s: S("aborted"),
            at: N(now),
            [EXPIRES_AT_ATTRIBUTE]: N(identityExpiresAt(now + DAY)),
          },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return "aborted";
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
      // The record that was there: from the refusal (AWS returns it), else read (DynamoDB Local
      // returns none). Taken for "aborted", a commit that landed in between would be counted twice.
      const item = (e as { Item?: ItemAv }).Item;
      if (item) return item.s?.S === "committed" ? "committed" : "aborted";
      return (await this.commitState(attempt)) === "committed" ? "committed" : "aborted";
    }
  }

  /**
   * The attempt's journals (one per fold shard its accounts fall in), then its commit record: the
   * fold applies a journal only once its commit exists. False when another handler aborted the
   * attempt first (its claims are lost; its journals are never folded).
   */
  private async commitAttempt(
    a: AttemptPlan,
    members: readonly PreparedEvent[],
    now: number,
  ): Promise<boolean> {
    await writeJournals(this.client, this.table, a.id, attemptJournals(members, now, this.journal.shards));
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          // Kept as long as the longest-lived claim that names it: a claim whose attempt record is
          // gone would be taken over as a dead attempt's, and its event counted again.
          Item: {
            ...commitKey(a.id),
            s: S("committed"),
            at: N(now),
            events: N(members.length),
            [EXPIRES_AT_ATTRIBUTE]: N(Math.max(...members.map((m) => identityExpiresAt(m.event.t)))),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /**
   * Records a batch's conflicts: first every report index entry (D16), then every conflict with its
   * body, each a conditional insert (an existing one is kept, with its first sighting), 25 per
   * request. The index first: the report never misses a conflict whose body is stored; a crash in
   * between is repaired by the re-delivery.
   */
  private async putConflicts(conflicts: readonly [PreparedEvent, Winner][], now: number) {
    const seen = new Set<string>();
    const index: ItemAv[] = [];
    const bodies: ItemAv[] = [];
    for (const [p, first] of conflicts) {
      const e = p.event;
      const key = `${identityOf(e)}#${p.hash}`;
      if (seen.has(key)) continue; // the same conflicting version twice in one batch
      seen.add(key);
      const kept = utf8Prefix(p.body, MAX_CONFLICT_BODY);
      const body = kept.length < p.body.length ? `${kept}…` : p.body;
      index.push({
        pk: S(conflictsPk(first.accountId, first.period)),
        sk: S(key),
        source: S(e.source),
        id: S(e.id),
        seenAt: N(now),
      });
      bodies.push({
        pk: S(`ACCT#${first.accountId}`),
        sk: S(`CONFLICT#${key}`),
        source: S(e.source),
        id: S(e.id),
        firstHash: S(first.hash),
        conflictingHash: S(p.hash),
        conflictingBody: S(body),
        seenAt: N(now),
        t: N(first.t),
      });
    }
    // The markers' `cf` flags first (D31): a close skips the conflicts query of a marker that says
    // it tracks conflicts (`cft`) and has none; a crash after a flag leaves a query that finds none.
    const flagged = new Map(
      conflicts.map(([, first]) => [compositeKey(first.accountId, first.period), first]),
    );
    await mapLimit([...flagged.values()], 8, (first) =>
      flagConflict(this.client, this.table, first.accountId, first.period),
    );
    await this.insertAll(index);
    await this.insertAll(bodies);
  }

  /**
   * Conditional inserts (PartiQL INSERT: an item that exists is kept as it is), at most 25 and about
   * 1 MB per request; a statement that fails for another reason (throttled) is sent again.
   */
  private async insertAll(items: readonly ItemAv[]) {
    const groups: ItemAv[][] = [];
    let group: ItemAv[] = [];
    let bytes = 0;
    for (const item of items) {
      const size = Buffer.byteLength(JSON.stringify(item));
      if (group.length > 0 && (group.length >= 25 || bytes + size > 1_000_000)) {
        groups.push(group);
        group = [];
        bytes = 0;
      }
      group.push(item);
      bytes += size;
    }
    if (group.length > 0) groups.push(group);
    const table = this.table.replaceAll('"', '""');
    await mapLimit(groups, this.claimConcurrency, async (g) => {
      let pending = g;
      for (let retry = 0; pending.length > 0; retry++) {
        const r = await this.client.send(
          new BatchExecuteStatementCommand({
            Statements: pending.map((item) => {
              const names = Object.keys(item);
              return {
                Statement: `INSERT INTO "${table}" VALUE {${names.map((n) => `'${n}': ?`).join(", ")}}`,
                Parameters: names.map((n) => item[n]!),
              };
            }),
          }),
        );
        const failed = (i: number) => {
          const code = r.Responses?.[i]?.Error?.Code;
          return code !== undefined && code !== "DuplicateItem" && code !== "ConditionalCheckFailed";
        };
        const again = pending.filter((_, i) => failed(i));
        const refused = r.Responses?.find((_, i) => i < pending.length && failed(i))?.Error;
        if (refused && (!RETRIED_STATEMENT_CODES.has(refused.Code ?? "") || retry + 1 >= STATEMENT_ATTEMPTS))
          throw new StatementsRefusedError(
            "inserts",
            refused.Code ?? "unknown",
            refused.Message ?? "",
            retry + 1,
          );
        if (again.length > 0) await statementBackoff(retry);
        pending = again;
      }
    });
  }

  // ---- reads (close, marketplace reporter) ----
  private queryAll(input: QueryInput): Promise<ItemAv[]> {
    return queryAllItems(this.client, this.table, input);
  }

  private byPk(pk: string) {
    return this.queryAll({ KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": S(pk) } });
  }

  async usagePeriods(accountId: string): Promise<PeriodId[]> {
    return (await this.usageMarkers(accountId)).map((m) => m.period);
  }

  async usageMarkers(accountId: string): Promise<UsagePeriod[]> {
    const items = await this.queryAll({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": S(`ACCT#${accountId}`), ":p": S("USAGE#") },
    });
    const shards = (a: Av | undefined) => a?.NS?.map(Number).sort((x, y) => x - y);
    return items
      .map((i) => {
        const counterShards = shards(i.cs);
        const pageShards = shards(i.ps);
        // A marker written since D24 names both kinds (an absent kind: no shard); one from before names neither.
        const recorded = counterShards !== undefined || pageShards !== undefined;
        return {
          period: i.period?.S ?? "",
          ...(recorded ? { counterShards: counterShards ?? [], pageShards: pageShards ?? [] } : {}),
          ...(i.closed?.BOOL ? { closed: true } : {}),
          // Conflicts are known absent only where the marker tracks them (D31).
          ...(i.cft?.BOOL && !i.cf?.BOOL ? { noConflicts: true } : {}),
        };
      })
      .sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : 0));
  }

  /** Shards to read: those the marker recorded, else (no marker passed, or one from before D24) all. */
  private shardList(recorded: readonly number[] | undefined): readonly number[] {
    return recorded ?? Array.from({ length: this.shards }, (_, s) => s);
  }

  async statefulEventsOf(
    accountId: string,
    periods: readonly PeriodId[],
    where?: ShardsOf,
    opts: RawEventsReadOptions = {},
  ): Promise<LedgerEvent[]> {
    const pks = periods.flatMap((p) =>
      this.shardList(where?.get(p)?.pageShards).map((s) => evtPk(accountId, p, s)),
    );
    // Only each page's deflated bytes and event count are kept from the responses: a page's JSON
    // text is inflated and parsed one page at a time, after the caller has seen the total size.
    const pages = (
      await mapLimit(pks, 8, async (pk) =>
        (await this.byPk(pk)).map((i) => ({ c: Number(i.c?.N ?? 0), z: i.z?.B ?? new Uint8Array() })),
      )
    ).flat();
    await opts.beforeDecode?.({
      events: pages.reduce((n, p) => n + p.c, 0),
      deflatedBytes: pages.reduce((n, p) => n + p.z.byteLength, 0),
    });
    const out: LedgerEvent[] = [];
    const strings = new Map<string, string>();
    for (let k = 0; k < pages.length; k++) {
      const z = pages[k]!.z;
      pages[k] = EMPTY_PAGE; // its bytes can go as soon as the page is parsed
      for (const e of JSON.parse(inflateRawSync(z).toString("utf8")) as LedgerEvent[])
        out.push(compactEvent(e, strings));
    }
    return out;
  }

  async rawEventsStoredSince(
    accountId: string,
    period: PeriodId,
    since: number,
    limit: number,
  ): Promise<EventSample[]> {
    // Page sort keys are `<attempt id>#<n>`, the attempt id `<storage ms>-<uuid>`: a key range, no filter.
    const pages = await mapLimit(
      Array.from({ length: this.shards }, (_, s) => evtPk(accountId, period, s)),
      8,
      (pk) =>
        this.queryAll({
          KeyConditionExpression: "pk = :pk AND sk >= :since",
          ExpressionAttributeValues: { ":pk": S(pk), ":since": S(String(since)) },
        }),
    );
    const out: EventSample[] = [];
    for (const i of pages.flat()) {
      const storedAt = Number((i.sk?.S ?? "").split("-")[0]);
      for (const e of JSON.parse(
        inflateRawSync(i.z?.B ?? new Uint8Array()).toString("utf8"),
      ) as LedgerEvent[])
        if (out.length < limit) out.push({ source: e.source, id: e.id, time: e.time, storedAt });
    }
    return out;
  }

  /** Raw events with t < until (periods are local months: those up to the next UTC month are read). */
  async eventsOf(accountId: string, until: number): Promise<LedgerEvent[]> {
    const last = shiftPeriod(periodOf(until, "UTC"), 1);
    const markers = (await this.usageMarkers(accountId)).filter((m) => m.period <= last);
    const periods = markers.map((m) => m.period);
    return (await this.statefulEventsOf(accountId, periods, shardsOf(markers))).filter((e) => e.t < until);
  }

  async countersOf(accountId: string, period: PeriodId, where?: ShardsOf): Promise<PeriodCounters> {
    const rows = (
      await mapLimit(
        this.shardList(where?.get(period)?.counterShards).map((s) => ctrPk(accountId, period, s)),
        8,
        (pk) => this.byPk(pk),
      )
    ).flat();
    let events = 0;
    let newest = Number.NEGATIVE_INFINITY;
    const counters: CounterDelta[] = [];
    for (const r of rows) {
      const sk = r.sk?.S ?? "";
      const n = Number(r.n?.N ?? 0);
      events += Number(r.e?.N ?? 0);
      if (r.t?.N !== undefined) newest = Math.max(newest, Number(r.t.N));
      if (sk === EVENTS_SK) continue;
      const [kind, product, dims, version, reason] = JSON.parse(sk) as [
        CounterDelta["kind"],
        string,
        [string, string][],
        string,
        string,
      ];
      const samples = [r.s?.S, r.l?.S].flatMap((x) => (x ? [JSON.parse(x) as EventSample] : []));
      counters.push({
        kind,
        product,
        dimensions: Object.fromEntries(dims),
        version,
        reason,
        quantity: dec(r.q?.N ?? "0"),
        events: n,
        ...(samples.length > 0 ? { samples } : {}),
      });
    }
    return {
      counters: mergeDeltas(counters),
      events,
      ...(Number.isFinite(newest) ? { newestEventAt: newest } : {}),
    };
  }

  async *periodConflicts(
    accountId: string,
    period: PeriodId,
    where?: ShardsOf,
  ): AsyncIterable<PeriodConflict> {
    if (where?.get(period)?.noConflicts) return;
    const pk = S(conflictsPk(accountId, period));
    for await (const i of queryItems(this.client, this.table, {
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": pk },
    }))
      yield { source: i.source?.S ?? "", id: i.id?.S ?? "", seenAt: Number(i.seenAt?.N ?? 0) };
  }
}

type QueryInput = Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey" | "ConsistentRead">;

/** Every item of a consistent Query, page by page (DynamoDB returns at most 1 MB per call). */
async function* queryItems(client: DynamoDBClient, table: string, input: QueryInput): AsyncIterable<ItemAv> {
  let ExclusiveStartKey: ItemAv | undefined;
  do {
    const r = await client.send(
      new QueryCommand({ ...input, TableName: table, ExclusiveStartKey, ConsistentRead: true }),
    );
    yield* r.Items ?? [];
    ExclusiveStartKey = r.LastEvaluatedKey;
  } while (ExclusiveStartKey);
}

async function queryAllItems(client: DynamoDBClient, table: string, input: QueryInput): Promise<ItemAv[]> {
  const items: ItemAv[] = [];
  for await (const i of queryItems(client, table, input)) items.push(i);
  return items;
}

const EMPTY_PAGE = { c: 0, z: new Uint8Array() };

/** Envelope fields whose values repeat across an account's events (one string each, shared). */
const SHARED_FIELDS = ["specversion", "source", "type", "subject", "datacontenttype", "dataschema"] as const;

/**
 * The event as parsed, with its repeated envelope strings shared: JSON.parse allocates every value
 * anew, so 500,000 events of one account would hold 500,000 copies of its source, type and subject.
 * Nothing is dropped or changed: the event is the one stored (G6 needs every field a rule reads).
 */
function compactEvent(e: LedgerEvent, strings: Map<string, string>): LedgerEvent {
  const m = e as unknown as Record<string, unknown>;
  for (const f of SHARED_FIELDS) {
    const v = m[f];
    if (typeof v !== "string") continue;
    const shared = strings.get(v);
    if (shared === undefined) strings.set(v, v);
    else m[f] = shared;
  }
  return e;
}

/**
 * Raw events in pages of at most MAX_PAGE_JSON UTF-8 bytes of JSON (the attempt's tryAdd counts the
 * same bytes), each deflated and its compressed size checked (`c`: its event count).
 */
export function packPages(events: readonly LedgerEvent[]): { c: number; z: Uint8Array }[] {
  const pages: { c: number; z: Uint8Array }[] = [];
  let chunk: string[] = [];
  let size = 0;
  const flush = () => {
    if (chunk.length === 0) return;
    const z = deflateRawSync(Buffer.from(`[${chunk.join(",")}]`));
    pages.push({ c: chunk.length, z: checkedCompressed(`page of ${chunk.length} raw events`, z) });
    chunk = [];
    size = 0;
  };
  for (const e of events) {
    const json = JSON.stringify(e);
    const bytes = Buffer.byteLength(json) + 1;
    if (size + bytes > MAX_PAGE_JSON) flush();
    chunk.push(json);
    size += bytes;
  }
  flush();
  return pages;
}

/**
 * The usage marker of an (account, period), with the shards of its counters (`cs`) and pages (`ps`)
 * added to those it names (D24), and `cft`: conflicts of the period flag it (`cf`, D31).
 */
export async function markUsage(
  client: DynamoDBClient,
  table: string,
  accountId: string,
  period: PeriodId,
  cs: ReadonlySet<number>,
  ps: ReadonlySet<number>,
  /** The period's end for the account: enters the account-period in the unclosed-usage index once. */
  end?: number,
): Promise<void> {
  const adds = [...(cs.size > 0 ? ["cs :cs"] : []), ...(ps.size > 0 ? ["ps :ps"] : [])];
  const marked = await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: S(`ACCT#${accountId}`), sk: S(`USAGE#${period}`) },
      // `cft`: this marker is flagged `cf` when a conflict is recorded for its period (D31).
      UpdateExpression: `SET period = :p, cft = :t${adds.length > 0 ? ` ADD ${adds.join(", ")}` : ""}`,
      ExpressionAttributeValues: {
        ":p": S(period),
        ":t": { BOOL: true },
        ...(cs.size > 0 ? { ":cs": { NS: [...cs].map(String) } } : {}),
        ...(ps.size > 0 ? { ":ps": { NS: [...ps].map(String) } } : {}),
      },
      ReturnValues: "ALL_NEW",
    }),
  );
  // Once per account-period (the marker's `ix`), before any attempt of it commits: the entry first,
  // then the flag, so a crash in between writes the entry again on the re-delivery. A period without
  // the entry's end known (bulk loads) takes the latest end any zone has (UTC−12): never closed early.
  if (marked.Attributes?.ix?.BOOL) return;
  const doc = DynamoDBDocumentClient.from(client);
  await putUnclosedUsage(doc, table, {
    accountId,
    period,
    end: end ?? periodWindow(period, "Etc/GMT+12").end,
  });
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: S(`ACCT#${accountId}`), sk: S(`USAGE#${period}`) },
      UpdateExpression: "SET ix = :t",
      ExpressionAttributeValues: { ":t": { BOOL: true } },
    }),
  );
}

/**
 * Flags the period's usage marker `cf` (a conflict recorded for it). The marker may not exist yet
 * (the fold writes it when it applies the first copy's journal): the flag creates it with its
 * period, and the fold's update keeps the flag.
 */
async function flagConflict(client: DynamoDBClient, table: string, accountId: string, period: PeriodId) {
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: S(`ACCT#${accountId}`), sk: S(`USAGE#${period}`) },
      UpdateExpression: "SET cf = :t, period = :p",
      ExpressionAttributeValues: { ":t": { BOOL: true }, ":p": S(period) },
    }),
  );
}

/** UTF-8 bytes of raw JSON per snapshot part before compression (item-size.ts). */
const MAX_SNAPSHOT_PART_JSON = MAX_PAYLOAD_BYTES;
const snapPk = (account: string, period: PeriodId) => `SNAP#${account}#${period}`;

/**
 * Carry-over snapshots (D14): the snapshot at the start of a period, as deflated JSON parts of at
 * most 300 KB each under one partition, and a HEAD item naming the write whose parts count. The
 * parts are written first and the HEAD last, so a reader (one consistent Query of the partition)
 * sees either the previous complete snapshot or the new one; parts of older writes are deleted after.
 */
export class DynamoSnapshotStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async snapshotAt(accountId: string, period: PeriodId): Promise<CarriedFacts | undefined> {
    const items = await queryAllItems(this.client, this.table, {
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": S(snapPk(accountId, period)) },
    });
    const head = items.find((i) => i.sk?.S === "HEAD");
    if (!head) return undefined;
    // A snapshot of one part is held by the HEAD itself (D24).
    if (head.z?.B) return JSON.parse(inflateRawSync(head.z.B).toString("utf8")) as CarriedFacts;
    const write = head.w?.S ?? "";
    const parts = items
      .filter((i) => i.sk?.S?.startsWith(`PART#${write}#`))
      .sort((a, b) => Number(a.n?.N ?? 0) - Number(b.n?.N ?? 0));
    if (parts.length !== Number(head.parts?.N ?? -1))
      throw new Error(`snapshot ${accountId} ${period}: ${parts.length} parts, head says ${head.parts?.N}`);
    // The parts are cut between whole characters; their bytes are joined before decoding all the same.
    const json = Buffer.concat(parts.map((p) => inflateRawSync(p.z?.B ?? new Uint8Array()))).toString("utf8");
    return JSON.parse(json) as CarriedFacts;
  }

  async putSnapshot(accountId: string, snapshot: CarriedFacts): Promise<void> {
    const pk = S(snapPk(accountId, snapshot.period));
    const write = randomUUID();
    // Parts of at most MAX_SNAPSHOT_PART_JSON bytes, cut between whole characters, each compressed
    // and checked: a snapshot of any size and any text closes.
    const parts = utf8Parts(JSON.stringify(snapshot), MAX_SNAPSHOT_PART_JSON).map((p, n) =>
      checkedCompressed(`snapshot part ${n} of ${accountId} ${snapshot.period}`, deflateRawSync(p)),
    );
    // One part: inline in the HEAD, one write (D24); more: the parts first, then the HEAD naming them.
    const inline = parts.length === 1 ? { z: { B: parts[0]! } } : undefined;
    if (!inline)
      await mapLimit(
        parts.map((p, n) => ({ p, n })),
        4,
        ({ p, n }) =>
          this.client.send(
            new PutItemCommand({
              TableName: this.table,
              Item: { pk, sk: S(`PART#${write}#${n}`), n: N(n), z: { B: p } },
            }),
          ),
      );
    // The previous head comes back with the put (no read before it): its parts are deleted after.
    const old = await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          pk,
          sk: S("HEAD"),
          w: S(write),
          parts: N(inline ? 0 : parts.length),
          events: N(snapshot.events.length),
          ...inline,
        },
        ReturnValues: "ALL_OLD",
      }),
    );
    const before = old.Attributes?.w?.S;
    if (before !== undefined && old.Attributes)
      for (let n = 0; n < Number(old.Attributes.parts?.N ?? 0); n++)
        await this.client.send(
          new DeleteItemCommand({ TableName: this.table, Key: { pk, sk: S(`PART#${before}#${n}`) } }),
        );
  }
}

function claimAttributes(p: PreparedEvent, attempt: string, now: number): ItemAv {
  return {
    h: S(p.hash),
    a: S(p.accountId),
    p: S(p.contribution.period),
    t: N(p.event.t),
    o: S(attempt),
    at: N(now),
    // G5: forgotten 400 days after the event's time (DynamoDB TTL); older events are refused at ingest.
    [EXPIRES_AT_ATTRIBUTE]: N(identityExpiresAt(p.event.t)),
  };
}

function memo<K, V>(cache: Map<K, Promise<V>>, key: K, f: () => Promise<V>): Promise<V> {
  let v = cache.get(key);
  if (!v) {
    v = f();
    cache.set(key, v);
  }
  return v;
}

export { mapLimit };

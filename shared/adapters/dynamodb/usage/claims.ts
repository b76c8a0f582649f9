/**
 * Identity claims (ID#<identity>) and attempt commit states (COMMIT#<attempt>): each distinct event
 * identity is claimed by one attempt with a conditional insert; a claim held by another attempt is
 * a duplicate or conflict (that attempt committed), taken over (it aborted, or it is dead: older
 * than the cut-off, aborted here first), or retried later (it may still commit).
 */
import { randomInt } from "node:crypto";
import {
  BatchExecuteStatementCommand,
  BatchGetItemCommand,
  type BatchStatementRequest,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { BillingError } from "../../../core/errors.js";
import { identityExpiresAt } from "../../../core/identity-retention.js";
import { mapLimit } from "../../../core/map-limit.js";
import { DAY, type PeriodId } from "../../../core/time.js";
import type { CommitState } from "../../../core/usage-fold.js";
import type { PreparedEvent } from "../../../ports/usage-store.js";
import { attemptCommitItem, identityClaimItem, identityOfClaimPk } from "../items/usage.js";
import { isConditionFailure } from "../paginate.js";
import { commitKey, type ItemAv, S, type UsageTable } from "./keys.js";

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
export const statementBackoff = (retry: number) =>
  new Promise((res) => setTimeout(res, randomInt(5, 20 * 2 ** Math.min(retry, 5))));

/**
 * Sends one BatchExecuteStatement of conditional inserts (≤ 25) and again, after a back-off, the
 * statements the service refused for now; `existing` hears of each whose item was already there
 * (with that item when the service returns it). Throws StatementsRefusedError on a statement
 * refused for good or past STATEMENT_ATTEMPTS.
 */
export async function executeInserts<T>(
  t: UsageTable,
  what: string,
  batch: readonly T[],
  statementOf: (x: T) => BatchStatementRequest,
  existing: (x: T, item: ItemAv | undefined) => void = () => {},
): Promise<void> {
  let pending = batch;
  for (let retry = 0; pending.length > 0; retry++) {
    const r = await t.client.send(new BatchExecuteStatementCommand({ Statements: pending.map(statementOf) }));
    const again: T[] = [];
    let refused: { Code?: string; Message?: string } | undefined;
    pending.forEach((x, i) => {
      const error = r.Responses?.[i]?.Error;
      if (!error) return;
      if (error.Code === "DuplicateItem" || error.Code === "ConditionalCheckFailed") existing(x, error.Item);
      else {
        refused ??= error;
        again.push(x); // that statement alone again, if the service may take it later
      }
    });
    if (refused && (!RETRIED_STATEMENT_CODES.has(refused.Code ?? "") || retry + 1 >= STATEMENT_ATTEMPTS))
      throw new StatementsRefusedError(what, refused.Code ?? "unknown", refused.Message ?? "", retry + 1);
    if (again.length > 0) await statementBackoff(retry);
    pending = again;
  }
}

/** The claim that holds an identity: the first version stored, against which others are judged. */
export interface Winner {
  readonly hash: string;
  readonly accountId: string;
  readonly period: PeriodId;
  readonly t: number;
}

/** A distinct identity of the batch, its first event, and the attempt that claims it. */
export interface Claim {
  readonly identity: string;
  readonly index: number;
  readonly p: PreparedEvent;
  readonly attempt: string;
}

function claimOf(identity: string, p: PreparedEvent, attempt: string, now: number) {
  return {
    identity,
    hash: p.hash,
    accountId: p.accountId,
    period: p.contribution.period,
    time: p.event.t,
    owner: attempt,
    ownerAt: now,
    // G5: forgotten 400 days after the event's time (DynamoDB TTL); older events are refused at ingest.
    expiresAt: identityExpiresAt(p.event.t),
  };
}

/** A PartiQL INSERT of the item: a conditional put of an item that is not there yet. */
export function insertOf(table: string, item: ItemAv) {
  const names = Object.keys(item);
  return {
    Statement: `INSERT INTO "${table.replaceAll('"', '""')}" VALUE {${names.map((n) => `'${n}': ?`).join(", ")}}`,
    Parameters: names.map((n) => item[n]!),
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

export class IdentityClaims {
  constructor(
    private readonly t: UsageTable,
    /** Claims of an attempt older than this are taken over (its invocation is dead). */
    private readonly cutoffMs: number,
    private readonly concurrency: number,
  ) {}

  /**
   * Claims every identity for its attempt and resolves the claims other attempts hold: `mine` (the
   * indexes this batch's attempts now hold) and, per identity held elsewhere, the committed winner
   * or "retry" (its attempt may still commit, or another took it over first).
   */
  async claim(
    claims: readonly Claim[],
    now: number,
  ): Promise<{ mine: Set<number>; winners: Map<string, Winner | "retry"> }> {
    const mine = new Set<number>();
    const winners = new Map<string, Winner | "retry">();
    const commitStates = new Map<string, Promise<CommitState>>();
    const aborts = new Map<string, Promise<"committed" | "aborted">>();
    const existing = await this.claimAll(claims, now);
    await mapLimit(claims, this.concurrency, async ({ identity, index: i, p, attempt }) => {
      const old = existing.get(identity);
      if (!old) {
        mine.add(i);
        return;
      }
      const claimed = identityClaimItem.av.decode(old);
      const owner = claimed.owner;
      // Our own claim: a claim request that landed but whose reply was lost, sent again by the
      // SDK, answers "already there" with what it wrote. The event is this attempt's to commit;
      // taken for another's, it would be a "duplicate" of the attempt's commit without being in it.
      if (owner === attempt) {
        mine.add(i);
        return;
      }
      const winner: Winner = {
        hash: claimed.hash,
        accountId: claimed.accountId,
        period: claimed.period,
        t: claimed.time ?? p.event.t,
      };
      let state = await memo(commitStates, owner, () => this.commitState(owner));
      if (state === "none") {
        if (now - (claimed.ownerAt ?? 0) < this.cutoffMs) {
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
      if (await this.takeOver(identity, p, owner, attempt, now)) mine.add(i);
      else winners.set(identity, "retry");
    });
    return { mine, winners };
  }

  /**
   * Claims every identity for its attempt: conditional inserts, 25 per request (PartiQL
   * BatchExecuteStatement; each statement is its own conditional put, 1 WRU, not a transaction).
   * Returns the existing claim of each identity another attempt holds: from the failed statement
   * (ReturnValuesOnConditionCheckFailure ALL_OLD) when the service returns it, else read back in
   * one strongly consistent BatchGetItem per 100 (an INSERT on an existing key answers DuplicateItem
   * without the item; duplicates are the rare path of re-deliveries).
   */
  private async claimAll(claims: readonly Claim[], now: number): Promise<Map<string, ItemAv>> {
    const { client, table } = this.t;
    const existing = new Map<string, ItemAv>();
    const toRead: string[] = [];
    const chunks: Claim[][] = [];
    for (let i = 0; i < claims.length; i += 25) chunks.push(claims.slice(i, i + 25));
    await mapLimit(chunks, this.concurrency, (chunk) =>
      executeInserts(
        this.t,
        "identity claims",
        chunk,
        ({ identity, p, attempt }) => ({
          ...insertOf(table, identityClaimItem.av.item(claimOf(identity, p, attempt, now))),
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
        (c, item) => {
          if (item) existing.set(c.identity, item);
          else toRead.push(c.identity);
        },
      ),
    );
    for (let i = 0; i < toRead.length; i += 100) {
      let keys = toRead.slice(i, i + 100).map((identity) => identityClaimItem.av.key({ identity }));
      for (let retry = 0; keys.length > 0; retry++) {
        const r = await client.send(
          new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of r.Responses?.[table] ?? []) existing.set(identityOfClaimPk(item.pk!.S!), item);
        keys = r.UnprocessedKeys?.[table]?.Keys ?? [];
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
    const { identity: _, ...claim } = claimOf(identity, p, attempt, now);
    const fields = Object.keys(claim) as (keyof typeof claim)[];
    try {
      await this.t.client.send(
        new UpdateItemCommand({
          TableName: this.t.table,
          Key: identityClaimItem.av.key({ identity }),
          UpdateExpression: `SET ${identityClaimItem.assign(...fields)}`,
          ConditionExpression: "#owner = :from",
          ExpressionAttributeNames: identityClaimItem.names(...fields),
          ExpressionAttributeValues: { ...identityClaimItem.av.values(claim), ":from": S(from) },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false; // another attempt took it over first
      throw e;
    }
  }

  private async commitState(attempt: string): Promise<CommitState> {
    const r = await this.t.client.send(
      new GetItemCommand({ TableName: this.t.table, Key: commitKey(attempt), ConsistentRead: true }),
    );
    return commitStateOf(r.Item);
  }

  /** Marks the attempt aborted unless it committed first; returns which one holds. */
  abort(attempt: string, now: number): Promise<"committed" | "aborted"> {
    return fenceAttempt(this.t.client, this.t.table, attempt, now, async () => {
      return (await this.commitState(attempt)) === "committed";
    });
  }
}

/** What an attempt's commit record says: committed, aborted, or no record yet. */
export function commitStateOf(item: ItemAv | undefined): CommitState {
  const s = item && attemptCommitItem.av.decode(item).state;
  return s === "committed" ? "committed" : s === "aborted" ? "aborted" : "none";
}

/**
 * Marks a dead attempt aborted unless it committed first (from then on its own commit fails);
 * returns which one holds. Needed only while the dead attempt's claims name it: those of events up
 * to a day ahead of now (the future tolerance) expire by then. The record that was there comes from
 * the refusal (AWS returns it), else from `committed` (DynamoDB Local returns none): taken for
 * "aborted", a commit that landed in between would be counted twice.
 */
export async function fenceAttempt(
  client: DynamoDBClient,
  table: string,
  attempt: string,
  now: number,
  committed: () => Promise<boolean>,
): Promise<"committed" | "aborted"> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: attemptCommitItem.av.item({
          attempt,
          state: "aborted",
          at: now,
          expiresAt: identityExpiresAt(now + DAY),
        }),
        ConditionExpression: "attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return "aborted";
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    const item = (e as { Item?: ItemAv }).Item;
    if (item) return commitStateOf(item) === "committed" ? "committed" : "aborted";
    return (await committed()) ? "committed" : "aborted";
  }
}

/**
 * Attempts: a batch's distinct identities, as one attempt (a larger batch than Lambda's 6 MB payload
 * would be cut into several). An attempt writes its journals (one per fold shard its accounts fall
 * in: ../fold/attempt-journal.ts) with plain puts, then its commit record: the fold applies a journal
 * only once its commit exists, so effects exist iff the commit does.
 */
import { randomUUID } from "node:crypto";
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { compareStrings } from "../../../core/compare.js";
import { identityExpiresAt } from "../../../core/identity-retention.js";
import { compositeKey } from "../../../core/keys.js";
import type { LedgerEvent } from "../../../core/rating/types.js";
import type { PreparedEvent } from "../../../ports/usage-store.js";
import { attemptJournals, writeJournals } from "../fold/attempt-journal.js";
import { deflatedJsonArrays, MAX_PAYLOAD_BYTES } from "../item-size.js";
import { attemptCommitItem } from "../items/usage.js";
import { isConditionFailure } from "../paginate.js";
import { commitStateOf } from "./claims.js";
import { commitKey, type ItemAv, identityOf, type UsageTable } from "./keys.js";

/** UTF-8 bytes of one attempt's events: past it (never within one invocation's payload) a new attempt. */
const MAX_ATTEMPT_BYTES = 12_000_000;
/** UTF-8 bytes of raw JSON per page item before compression (item-size.ts: an item holds at most 400 KB). */
const MAX_PAGE_JSON = MAX_PAYLOAD_BYTES;

/** The events an attempt will commit. */
export class AttemptPlan {
  readonly id: string;
  readonly members: number[] = [];
  private bytes = 0;

  constructor(now: number) {
    this.id = `${now}-${randomUUID()}`;
  }

  /** Adds the event if it fits (always when the attempt is empty). */
  tryAdd(index: number, p: PreparedEvent): boolean {
    const bytes = Buffer.byteLength(p.body);
    if (this.members.length > 0 && this.bytes + bytes > MAX_ATTEMPT_BYTES) return false;
    this.members.push(index);
    this.bytes += bytes;
    return true;
  }
}

/**
 * The batch's distinct identities (arrival order; the first occurrence is the one claimed) and the
 * attempts that will commit them, filled account by account.
 */
export function planAttempts(
  events: readonly PreparedEvent[],
  now: number,
): { groups: Map<string, number[]>; attempts: AttemptPlan[]; attemptOf: Map<number, AttemptPlan> } {
  const groups = new Map<string, number[]>();
  events.forEach((p, i) => {
    const k = identityOf(p.event);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  const attempts: AttemptPlan[] = [];
  const attemptOf = new Map<number, AttemptPlan>();
  const firsts = [...groups.values()].map((g) => g[0]!);
  const accountKey = (i: number) => compositeKey(events[i]!.accountId, events[i]!.contribution.period);
  firsts.sort((x, y) => {
    return compareStrings(accountKey(x), accountKey(y)) || x - y;
  });
  for (const i of firsts) {
    let a = attempts.at(-1);
    if (!a?.tryAdd(i, events[i]!)) {
      a = new AttemptPlan(now);
      attempts.push(a);
      a.tryAdd(i, events[i]!);
    }
    attemptOf.set(i, a);
  }
  return { groups, attempts, attemptOf };
}

/**
 * The attempt's journals, then its commit record; false when another handler aborted the attempt
 * first (its claims are lost, its journals never folded).
 */
export async function commitAttempt(
  t: UsageTable,
  a: AttemptPlan,
  members: readonly PreparedEvent[],
  now: number,
  foldShards: number,
): Promise<boolean> {
  await writeJournals(t.client, t.table, a.id, attemptJournals(members, now, foldShards));
  try {
    await t.client.send(
      new PutItemCommand({
        TableName: t.table,
        // Kept as long as the longest-lived claim that names it: a claim whose attempt record is
        // gone would be taken over as a dead attempt's, and its event counted again.
        Item: attemptCommitItem.av.item({
          attempt: a.id,
          state: "committed",
          at: now,
          events: members.length,
          expiresAt: Math.max(...members.map((m) => identityExpiresAt(m.event.t))),
        }),
        ConditionExpression: "attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return true;
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    // The record exists: "aborted" (another handler took the attempt over), or "committed" — by
    // this attempt itself, whose put landed but whose reply was lost and which the SDK sent again.
    const item =
      (e as { Item?: ItemAv }).Item ??
      (
        await t.client.send(
          new GetItemCommand({ TableName: t.table, Key: commitKey(a.id), ConsistentRead: true }),
        )
      ).Item;
    return commitStateOf(item) === "committed";
  }
}

/**
 * Raw events in pages of at most MAX_PAGE_JSON UTF-8 bytes of JSON (the attempt's tryAdd counts the
 * same bytes), each deflated and its compressed size checked (`c`: its event count).
 */
export function packPages(events: readonly LedgerEvent[]): { c: number; z: Uint8Array }[] {
  return deflatedJsonArrays(
    events.map((e) => JSON.stringify(e)),
    MAX_PAGE_JSON,
    (n) => `page of ${n} raw events`,
  ).map(({ count, z }) => ({ c: count, z }));
}

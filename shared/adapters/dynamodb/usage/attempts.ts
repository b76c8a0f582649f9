/**
 * Attempts: a batch's distinct identities split into attempts, each of which commits its effects
 * (counters, raw-event pages) and its commit record in ONE TransactWriteItems of ≤ 100 items. The
 * only place where the commit transaction's items are built.
 */
import { randomInt, randomUUID } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import {
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { compareStrings } from "../../../core/compare.js";
import { EXPIRES_AT_ATTRIBUTE, identityExpiresAt } from "../../../core/identity-retention.js";
import { compositeKey } from "../../../core/keys.js";
import { type CounterDelta, counterKey, mergeDeltas } from "../../../core/rating/counters.js";
import type { EventSample, LedgerEvent } from "../../../core/rating/types.js";
import type { PeriodId } from "../../../core/time.js";
import type { PreparedEvent } from "../../../ports/usage-store.js";
import { checkedCompressed, MAX_PAYLOAD_BYTES } from "../item-size.js";
import { commitKey, ctrPk, EVENTS_SK, evtPk, identityOf, N, S, type UsageTable } from "./keys.js";

/** DynamoDB TransactWriteItems limits: 100 items, 4 MB. */
const MAX_TRANSACT_ITEMS = 100;
const MAX_TRANSACT_BYTES = 3_000_000;
/** UTF-8 bytes of raw JSON per page item before compression (item-size.ts: an item holds at most 400 KB). */
const MAX_PAGE_JSON = MAX_PAYLOAD_BYTES;

/** A counter's sample identity (for line explanations), when short enough to keep the counter item under 1 KB. */
const MAX_SAMPLE_JSON = 300;
const counterSample = (e: LedgerEvent, storedAt: number): string | undefined => {
  const json = JSON.stringify({ source: e.source, id: e.id, time: e.time, storedAt } satisfies EventSample);
  return Buffer.byteLength(json) <= MAX_SAMPLE_JSON ? json : undefined;
};

/** The effects an attempt will commit, grown event by event within the transaction limits. */
export class AttemptPlan {
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

/**
 * The batch's distinct identities (arrival order; the first occurrence is the one claimed) and the
 * attempts that will commit them, filled account by account so that an account's counters land in
 * as few attempts as possible.
 */
export function planAttempts(
  events: readonly PreparedEvent[],
  now: number,
  shards: number,
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
      a = new AttemptPlan(now, shards);
      attempts.push(a);
      a.tryAdd(i, events[i]!);
    }
    attemptOf.set(i, a);
  }
  return { groups, attempts, attemptOf };
}

/** The items of an attempt's one transaction: its counter updates, its pages, its commit record last. */
export function commitItems(
  table: string,
  a: AttemptPlan,
  members: readonly PreparedEvent[],
  now: number,
): TransactWriteItem[] {
  const counters = new Map<
    string,
    {
      account: string;
      period: PeriodId;
      deltas: CounterDelta[];
      events: number;
      /** Per counter key, the attempt's first and latest event (line explanations). */
      samples: Map<string, { first: string; latest: string }>;
      /** Per counter key (and EVENTS_SK), the attempt's newest event time: preview freshness. */
      newest: Map<string, number>;
    }
  >();
  const pages = new Map<string, { account: string; period: PeriodId; events: LedgerEvent[] }>();
  for (const p of members) {
    const c = p.contribution;
    const k = compositeKey(p.accountId, c.period);
    if (c.counted) {
      const g = counters.get(k) ?? {
        account: p.accountId,
        period: c.period,
        deltas: [] as CounterDelta[],
        events: 0,
        samples: new Map<string, { first: string; latest: string }>(),
        newest: new Map<string, number>(),
      };
      g.deltas.push(...c.deltas);
      g.events += 1;
      for (const ck of c.deltas.length > 0 ? c.deltas.map((d) => counterKey(d)) : [EVENTS_SK])
        g.newest.set(ck, Math.max(g.newest.get(ck) ?? p.event.t, p.event.t));
      const sample = counterSample(p.event, now);
      if (sample)
        for (const d of c.deltas) {
          const ck = counterKey(d);
          g.samples.set(ck, { first: g.samples.get(ck)?.first ?? sample, latest: sample });
        }
      counters.set(k, g);
    } else {
      const g = pages.get(k) ?? { account: p.accountId, period: c.period, events: [] };
      g.events.push(p.event);
      pages.set(k, g);
    }
  }
  const items: TransactWriteItem[] = [];
  for (const g of counters.values()) {
    const pk = S(ctrPk(g.account, g.period, a.shard));
    const deltas = mergeDeltas(g.deltas);
    // The (account, period)'s counted events (`e`) ride on its first counter item of the attempt.
    if (deltas.length === 0)
      items.push({
        Update: {
          TableName: table,
          Key: { pk, sk: S(EVENTS_SK) },
          UpdateExpression: "ADD e :e SET t = :t",
          ExpressionAttributeValues: { ":e": N(g.events), ":t": N(g.newest.get(EVENTS_SK) ?? 0) },
        },
      });
    for (const [i, d] of deltas.entries()) {
      // The item's first event ever (`s`, kept) and its latest (`l`, replaced): explanation
      // samples in the same update, no read; a few hundred bytes, the item stays under 1 KB.
      const sample = g.samples.get(counterKey(d));
      // `t`: the newest event time this write adds (freshness for the preview), in the same update.
      // Last write wins, without a read: an attempt of older events written after a newer one
      // sets an older time, so the preview's figure is a real counted event's time, never later
      // than the newest (docs/data-model.md).
      items.push({
        Update: {
          TableName: table,
          Key: { pk, sk: S(counterKey(d)) },
          UpdateExpression: `${i === 0 ? "ADD q :q, n :n, e :e" : "ADD q :q, n :n"} SET t = :t${sample ? ", s = if_not_exists(s, :s), l = :l" : ""}`,
          ExpressionAttributeValues: {
            ":q": N(d.quantity.toFixed()),
            ":n": N(d.events),
            ":t": N(g.newest.get(counterKey(d)) ?? 0),
            ...(i === 0 ? { ":e": N(g.events) } : {}),
            ...(sample ? { ":s": S(sample.first), ":l": S(sample.latest) } : {}),
          },
        },
      });
    }
  }
  for (const g of pages.values())
    for (const [n, page] of packPages(g.events).entries())
      items.push({
        Put: {
          TableName: table,
          Item: {
            pk: S(evtPk(g.account, g.period, a.shard)),
            sk: S(`${a.id}#${n}`),
            c: N(page.c),
            z: { B: page.z },
          },
        },
      });
  items.push({
    Put: {
      TableName: table,
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
    },
  });
  return items;
}

/** The attempt's one transaction; false when another handler aborted it first (its claims are lost). */
export async function commitAttempt(
  t: UsageTable,
  a: AttemptPlan,
  members: readonly PreparedEvent[],
  now: number,
): Promise<boolean> {
  const items = commitItems(t.table, a, members, now);
  for (let retry = 0; ; retry++) {
    try {
      await t.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      return true;
    } catch (e) {
      if (!(e instanceof TransactionCanceledException)) throw e;
      const reasons = e.CancellationReasons ?? [];
      if (reasons.at(-1)?.Code === "ConditionalCheckFailed") return false;
      // Another attempt's transaction held one of our counters: nothing was applied, run it again.
      if (retry < 8 && reasons.some((r) => r.Code === "TransactionConflict")) {
        await new Promise((r) => setTimeout(r, randomInt(5, 20 * 2 ** Math.min(retry, 5))));
        continue;
      }
      throw e;
    }
  }
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

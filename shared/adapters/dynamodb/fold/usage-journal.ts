/**
 * The usage journal on the billing table (docs/data-model.md, "Journal and fold"): journals listed
 * per fold shard, attempts' commit states, the shard's fold state, and a run's writes — usage
 * markers, pages and counter increments each refused when the counter already carries the run.
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { mapLimit } from "../../../core/map-limit.js";
import { dec } from "../../../core/money.js";
import {
  attemptStart,
  type CommitState,
  FOLD_SHARDS,
  type FoldedGroup,
  type FoldState,
  type Journal,
  type PendingProbe,
} from "../../../core/usage-fold.js";
import type { UsageJournal } from "../../../ports/usage-journal.js";
import { putInBatches } from "../batch-put.js";
import { attemptOfCommitPk } from "../items/usage.js";
import { counterItem, pageSk, rawPageItem } from "../items/usage-period.js";
import { isConditionFailure } from "../paginate.js";
import { commitStateOf, fenceAttempt } from "../usage/claims.js";
import { commitKey, type ItemAv, N, S } from "../usage/keys.js";
import {
  BUNDLE_RUN_ATTR,
  BUNDLE_SK,
  type BundledCounter,
  bundleItem,
  bundleOf,
  type CounterBundle,
  counterBytes,
  countersJson,
  MAX_BUNDLE_JSON,
} from "./counter-bundle-codec.js";
import { FOLD_STATE_ATTR, foldStateItem, foldStateKey, foldStateOf } from "./fold-state-codec.js";
import {
  attemptOfItem,
  decodeJournals,
  JOURNAL_EVENTS_ATTR,
  journalBucket,
  journalEventsOf,
  journalPk,
  journalSkAfter,
} from "./journal-codec.js";

/** A filter of journal items keeping those not of the `skip` attempts (none when there are none). */
const outside = (skip: ReadonlySet<string>) =>
  skip.size > 0 ? (i: ItemAv) => !skip.has(attemptOfItem(i)) : undefined;

/** The counter and page shard the fold writes: one writer per account, once a run, so no heat to spread. */
export const FOLDED_SHARD = 0;

/** Writers of the usage items a run needs (usage-store.ts owns their layout). */
export interface FoldWriters {
  readonly markUsage: (
    accountId: string,
    period: string,
    cs: ReadonlySet<number>,
    ps: ReadonlySet<number>,
    /** The account-period's first mark: it enters the unclosed-usage index, ending at `end`. */
    index?: { readonly end?: number },
  ) => Promise<void>;
  readonly ctrPk: (account: string, period: string, shard: number) => string;
  readonly packPages: (events: FoldedGroup["raw"]) => { c: number; z: Uint8Array }[];
}

export class DynamoUsageJournal implements UsageJournal {
  readonly shards = FOLD_SHARDS;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    readonly cutoffMs: number,
    private readonly writers: FoldWriters,
  ) {}

  async readState(shard: number): Promise<FoldState | undefined> {
    const r = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: foldStateKey(shard), ConsistentRead: true }),
    );
    return foldStateOf(r.Item);
  }

  /**
   * The items of `pk` after `from` (up to `to`), in key order; at most `limit` (then the listing
   * stops after the page that reached it: a run's memory bound, not a promise of exactly `limit`).
   */
  private async query(
    pk: string,
    from: string,
    to?: string,
    opts: {
      limit?: number;
      consistent?: boolean;
      projection?: string;
      keep?: (item: ItemAv) => boolean;
    } = {},
  ): Promise<ItemAv[]> {
    const items: ItemAv[] = [];
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    let start: ItemAv | undefined;
    do {
      const r = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: to ? "pk = :pk AND sk BETWEEN :a AND :b" : "pk = :pk AND sk > :a",
          ExpressionAttributeValues: { ":pk": S(pk), ":a": S(from), ...(to ? { ":b": S(to) } : {}) },
          ConsistentRead: opts.consistent ?? true,
          ExclusiveStartKey: start,
          ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
          ...(opts.projection ? { ProjectionExpression: opts.projection } : {}),
        }),
      );
      const keep = opts.keep;
      items.push(...(keep ? (r.Items ?? []).filter(keep) : (r.Items ?? [])));
      start = r.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items;
  }

  private bucketsOf(after: number, until: number): number[] {
    const first = journalBucket(after + 1);
    const last = journalBucket(until);
    return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
  }

  async listJournals(
    shard: number,
    after: number,
    until: number,
    maxParts = Number.POSITIVE_INFINITY,
    skip: ReadonlySet<string> = new Set(),
  ): Promise<{ journals: Journal[]; upTo: number }> {
    const items: ItemAv[] = [];
    // Attempts already folded early are dropped as they come: they neither count toward the bound
    // nor stay in memory (else a close at the peak could list the same early ones again and again).
    const keep = outside(skip);
    let more = false;
    // Day by day, oldest first, until the parts bound: what is left is listed by the next run.
    for (const b of this.bucketsOf(after, until)) {
      const room = maxParts - items.length;
      const got = await this.query(journalPk(shard, b), journalSkAfter(after), undefined, {
        limit: Number.isFinite(room) ? room + 1 : room,
        ...(keep ? { keep } : {}),
      });
      items.push(...got);
      if (items.length > maxParts) {
        more = true;
        break;
      }
    }
    let upTo = until;
    let kept = items.filter((i) => attemptStart(attemptOfItem(i)) <= until);
    if (more) {
      // Cut at a millisecond boundary: the last listed attempt may miss parts, and others of its
      // instant may not be listed yet. Everything started before that instant is complete.
      const lastAt = attemptStart(attemptOfItem(items.at(-1)!));
      const before = kept.filter((i) => attemptStart(attemptOfItem(i)) < lastAt);
      if (before.length > 0) {
        kept = before;
        upTo = Math.min(until, lastAt - 1);
      } else {
        // One instant holds more parts than the bound (hundreds of attempts in one millisecond):
        // that instant is listed whole, so the run still moves on.
        const bucket = journalPk(shard, journalBucket(lastAt));
        kept = (await this.query(bucket, `${lastAt}-`, `${lastAt}-~`, keep ? { keep } : {})).filter(
          (i) => attemptStart(attemptOfItem(i)) <= until,
        );
        upTo = Math.min(until, lastAt);
      }
    }
    return { journals: decodeJournals(kept), upTo };
  }

  async probePending(
    shard: number,
    after: number,
    until: number,
    limit: number,
    skip: ReadonlySet<string> = new Set(),
  ): Promise<PendingProbe> {
    let parts = 0;
    let events = 0;
    const keep = outside(skip);
    for (const b of this.bucketsOf(after, until)) {
      // Eventually consistent and keys plus `n` only: a heuristic for when to fold, never for what.
      const got = await this.query(journalPk(shard, b), journalSkAfter(after), undefined, {
        limit: limit - parts,
        consistent: false,
        projection: `sk, ${JOURNAL_EVENTS_ATTR}`,
        ...(keep ? { keep } : {}),
      });
      parts += got.length;
      events += got.reduce((sum, i) => sum + journalEventsOf(i), 0);
      if (parts >= limit) break;
    }
    return { parts, events };
  }

  async journalsOf(shard: number, attempts: readonly string[]): Promise<Journal[]> {
    const wanted = new Set(attempts);
    const byBucket = new Map<number, string[]>();
    for (const a of attempts) {
      const b = journalBucket(attemptStart(a));
      byBucket.set(b, [...(byBucket.get(b) ?? []), a]);
    }
    const items = (
      await mapLimit([...byBucket], 8, ([b, as]) => {
        const sorted = [...as].sort();
        return this.query(journalPk(shard, b), `${sorted[0]}#`, `${sorted.at(-1)}#~`);
      })
    ).flat();
    return decodeJournals(items.filter((i) => wanted.has(attemptOfItem(i))));
  }

  async commitStates(attempts: readonly string[]): Promise<Map<string, CommitState>> {
    const out = new Map<string, CommitState>(attempts.map((a) => [a, "none"]));
    for (const item of await this.getConsistent(attempts.map(commitKey)))
      out.set(attemptOfCommitPk(item.pk!.S!), commitStateOf(item));
    return out;
  }

  abortAttempt(attempt: string, now: number): Promise<"committed" | "aborted"> {
    // The same put as the take-over's: from now on the attempt's own commit fails.
    return fenceAttempt(this.client, this.table, attempt, now, async () => {
      return (await this.commitStates([attempt])).get(attempt) === "committed";
    });
  }

  async startRun(shard: number, prev: FoldState | undefined, next: FoldState): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: foldStateItem(shard, next),
          ...(prev
            ? {
                ConditionExpression: `${FOLD_STATE_ATTR.run} = :r AND ${FOLD_STATE_ATTR.done} = :t`,
                ExpressionAttributeValues: { ":r": N(prev.run), ":t": { BOOL: true } },
              }
            : { ConditionExpression: "attribute_not_exists(pk)" }),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async finishRun(shard: number, run: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: foldStateKey(shard),
          UpdateExpression: `SET ${FOLD_STATE_ATTR.done} = :t`,
          ConditionExpression: `${FOLD_STATE_ATTR.run} = :r`,
          ExpressionAttributeValues: { ":r": N(run), ":t": { BOOL: true } },
        }),
      );
    } catch (e) {
      // Another fold finished this run and started the next one: nothing left to mark.
      if (!isConditionFailure(e)) throw e;
    }
  }

  async applyRun(shard: number, run: number, at: number, groups: readonly FoldedGroup[]): Promise<void> {
    const w = this.writers;
    const pkOf = (g: FoldedGroup) => w.ctrPk(g.accountId, g.period, FOLDED_SHARD);
    // Each (account, period)'s counter bundle, read before it is rewritten (consistent).
    const bundles = await this.readBundles(groups.map(pkOf));
    // Markers first (naming the shard of the counters and pages about to be written), as the close
    // reads only the shards its markers name: a kind the bundle does not record as marked yet.
    await mapLimit(groups, 8, async (g) => {
      const marked = bundles.get(pkOf(g))?.marked ?? [];
      const c = !marked.includes("c");
      const p = g.raw.length > 0 && !marked.includes("p");
      if (!c && !p) return;
      // No "c" yet: the first mark (or its redo after a crash before the bundle recorded it).
      await w.markUsage(
        g.accountId,
        g.period,
        new Set(c ? [FOLDED_SHARD] : []),
        new Set(p ? [FOLDED_SHARD] : []),
        c ? { end: g.end } : undefined,
      );
    });
    // Pages keyed by the run (its instant first: late events are read by storage time), so a redo
    // puts the same items.
    const pages: ItemAv[] = [];
    for (const g of groups)
      for (const [n, page] of w.packPages(g.raw).entries())
        pages.push(
          rawPageItem.av.item({
            accountId: g.accountId,
            period: g.period,
            shard: FOLDED_SHARD,
            sk: pageSk(`${at}-f${shard}.${run}`, n),
            events: page.c,
            deflated: page.z,
          }),
        );
    // 25 pages of at most 400 KB stay under BatchWriteItem's 16 MB.
    await putInBatches(pages, 4, async (puts) => {
      const r = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: puts } }));
      return (r.UnprocessedItems?.[this.table] ?? []) as typeof puts;
    });
    // Counters: the bundle rewritten with this run's sums, on the condition that it still is the
    // one read (or absent), so a run applied twice — a redo, two folds at once — adds once. A
    // counter that no longer fits the bundle gets its own item, incremented on the condition that
    // it does not carry this run yet (a later run starts only once this one is done).
    const updates: {
      g: FoldedGroup;
      key: string;
      c: FoldedGroup["counters"] extends Map<string, infer V> ? V : never;
    }[] = [];
    await mapLimit(groups, 16, async (g) => {
      const pk = pkOf(g);
      const old = bundles.get(pk);
      const counters = new Map(old?.counters ?? []);
      let size = Buffer.byteLength(countersJson(counters));
      const overflow: string[] = [];
      for (const key of [...g.counters.keys()].sort()) {
        const c = g.counters.get(key)!;
        const cur = counters.get(key);
        if (cur) {
          const next: BundledCounter = {
            quantity: dec(cur.quantity).plus(c.quantity).toFixed(),
            events: cur.events + c.events,
            newest: Math.max(cur.newest, c.newest),
            ...((cur.first ?? c.first) !== undefined ? { first: (cur.first ?? c.first)! } : {}),
            ...((c.latest ?? cur.latest) !== undefined ? { latest: (c.latest ?? cur.latest)! } : {}),
          };
          size += counterBytes(key, next) - counterBytes(key, cur);
          counters.set(key, next);
          continue;
        }
        const fresh: BundledCounter = {
          quantity: c.quantity.toFixed(),
          events: c.events,
          newest: c.newest,
          ...(c.first !== undefined ? { first: c.first } : {}),
          ...(c.latest !== undefined ? { latest: c.latest } : {}),
        };
        if (size + counterBytes(key, fresh) > MAX_BUNDLE_JSON) overflow.push(key);
        else {
          counters.set(key, fresh);
          size += counterBytes(key, fresh);
        }
      }
      for (const key of overflow) updates.push({ g, key, c: g.counters.get(key)! });
      // Already carries this run (a redo after it landed): only the overflow is left to check.
      if (old && old.run >= run) return;
      // Nothing of the bundle changes (only stateful events, its marks recorded): no write. A redo
      // finds the same and skips it again; the next run's condition is on the run it still carries.
      const unchanged =
        old !== undefined &&
        g.counted === 0 &&
        g.counters.size === 0 &&
        g.uncharged === undefined &&
        old.marked.includes("c") &&
        (g.raw.length === 0 || old.marked.includes("p"));
      if (unchanged) return;
      const newest = [g.uncharged, ...[...g.counters.values()].map((c) => c.newest)].filter(
        (t): t is number => t !== undefined,
      );
      const marked = new Set(old?.marked ?? []);
      marked.add("c");
      if (g.raw.length > 0) marked.add("p");
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: bundleItem(pk, {
              run,
              events: (old?.events ?? 0) + g.counted,
              ...(newest.length > 0 || old?.newest !== undefined
                ? { newest: Math.max(...newest, old?.newest ?? Number.NEGATIVE_INFINITY) }
                : {}),
              marked: [...marked].sort(),
              counters,
            }),
            ...(old
              ? {
                  ConditionExpression: `${BUNDLE_RUN_ATTR} = :old`,
                  ExpressionAttributeValues: { ":old": N(old.run) },
                }
              : { ConditionExpression: "attribute_not_exists(pk)" }),
          }),
        );
      } catch (e) {
        // Another fold applying this same run wrote it first, from the same bundle: the same item.
        if (!isConditionFailure(e)) throw e;
      }
    });
    await mapLimit(updates, 16, async (u) => {
      const c = u.c;
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: counterItem.av.key({
              accountId: u.g.accountId,
              period: u.g.period,
              shard: FOLDED_SHARD,
              sk: u.key,
            }),
            UpdateExpression: `ADD #quantity :quantity, #events :events SET ${counterItem.assign("newest", "run")}${c.first !== undefined ? ", #first = if_not_exists(#first, :first)" : ""}${c.latest !== undefined ? `, ${counterItem.assign("latest")}` : ""}`,
            ConditionExpression: "attribute_not_exists(#run) OR #run < :run",
            ExpressionAttributeNames: counterItem.names(
              "quantity",
              "events",
              "newest",
              "run",
              ...(c.first !== undefined ? (["first"] as const) : []),
              ...(c.latest !== undefined ? (["latest"] as const) : []),
            ),
            ExpressionAttributeValues: counterItem.av.values({
              quantity: c.quantity.toFixed(),
              events: c.events,
              newest: c.newest,
              run,
              first: c.first,
              latest: c.latest,
            }),
          }),
        );
      } catch (e) {
        // Already carries this run: its increment landed before (a redo, another fold at once).
        if (!isConditionFailure(e)) throw e;
      }
    });
  }

  /** The bundles at these keys (consistent BatchGetItem, 100 keys a request). */
  private async readBundles(pks: readonly string[]): Promise<Map<string, CounterBundle>> {
    const out = new Map<string, CounterBundle>();
    const keys = [...new Set(pks)].map((pk) => ({ pk: S(pk), sk: S(BUNDLE_SK) }));
    for (const item of await this.getConsistent(keys)) {
      const b = bundleOf(item);
      if (b) out.set(item.pk!.S!, b);
    }
    return out;
  }

  /** The items at these keys (consistent BatchGetItem, 100 keys a request, unprocessed ones again). */
  private async getConsistent(keys: readonly ItemAv[]): Promise<ItemAv[]> {
    const chunks: ItemAv[][] = [];
    for (let i = 0; i < keys.length; i += 100) chunks.push(keys.slice(i, i + 100));
    const found: ItemAv[] = [];
    await mapLimit(chunks, 4, async (chunk) => {
      let pending = chunk;
      for (let retry = 0; pending.length > 0; retry++) {
        const r = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        found.push(...(r.Responses?.[this.table] ?? []));
        pending = r.UnprocessedKeys?.[this.table]?.Keys ?? [];
        if (pending.length > 0) await backoff(retry);
      }
    });
    return found;
  }
}

const backoff = (retry: number) =>
  new Promise((res) => setTimeout(res, Math.floor(Math.random() * 20 * 2 ** Math.min(retry, 5)) + 5));

/**
 * The usage journal on the billing table (docs/data-model.md, "Journal and fold"): journals listed
 * per fold shard, attempts' commit states, the shard's fold state, and a run's writes — usage
 * markers, pages and counter increments each refused when the counter already carries the run.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { EXPIRES_AT_ATTRIBUTE, identityExpiresAt } from "../../../core/identity-retention.js";
import { mapLimit } from "../../../core/map-limit.js";
import { DAY } from "../../../core/time.js";
import {
  attemptStart,
  type CommitState,
  FOLD_SHARDS,
  type FoldedGroup,
  type FoldState,
  type Journal,
} from "../../../core/usage-fold.js";
import type { UsageJournal } from "../../../ports/usage-journal.js";
import { isConditionFailure } from "../paginate.js";
import { foldStateItem, foldStateKey, foldStateOf } from "./fold-state-codec.js";
import { attemptOfItem, decodeJournals, journalBucket, journalPk, journalSkAfter } from "./journal-codec.js";

type ItemAv = Record<string, AttributeValue>;
const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number | string): AttributeValue => ({ N: String(n) });

/** The counter and page shard the fold writes: one writer per account, once a run, so no heat to spread. */
export const FOLDED_SHARD = 0;

export const commitKey = (attempt: string): ItemAv => ({ pk: S(`COMMIT#${attempt}`), sk: S("COMMIT") });

/** Writers of the usage items a run needs (usage-store.ts owns their layout). */
export interface FoldWriters {
  readonly markUsage: (
    accountId: string,
    period: string,
    cs: ReadonlySet<number>,
    ps: ReadonlySet<number>,
    end?: number,
  ) => Promise<void>;
  readonly ctrPk: (account: string, period: string, shard: number) => string;
  readonly evtPk: (account: string, period: string, shard: number) => string;
  readonly eventsSk: string;
  readonly packPages: (events: FoldedGroup["raw"]) => { c: number; z: Uint8Array }[];
}

export class DynamoUsageJournal implements UsageJournal {
  readonly shards = FOLD_SHARDS;
  /** (account, period, kind) whose usage marker this container has written. */
  private readonly marked = new Set<string>();

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

  private async query(pk: string, from: string, to?: string): Promise<ItemAv[]> {
    const items: ItemAv[] = [];
    let start: ItemAv | undefined;
    do {
      const r = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: to ? "pk = :pk AND sk BETWEEN :a AND :b" : "pk = :pk AND sk > :a",
          ExpressionAttributeValues: { ":pk": S(pk), ":a": S(from), ...(to ? { ":b": S(to) } : {}) },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(r.Items ?? []));
      start = r.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async listJournals(shard: number, after: number, until: number): Promise<Journal[]> {
    const first = journalBucket(after + 1);
    const last = journalBucket(until);
    const buckets = Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
    const items = (
      await mapLimit(buckets, 8, (b) => this.query(journalPk(shard, b), journalSkAfter(after)))
    ).flat();
    return decodeJournals(items.filter((i) => attemptStart(attemptOfItem(i)) <= until));
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
    const chunks: string[][] = [];
    for (let i = 0; i < attempts.length; i += 100) chunks.push(attempts.slice(i, i + 100));
    await mapLimit(chunks, 4, async (chunk) => {
      let keys = chunk.map(commitKey);
      for (let retry = 0; keys.length > 0; retry++) {
        const r = await this.client.send(
          new BatchGetItemCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of r.Responses?.[this.table] ?? []) {
          const s = item.s?.S;
          out.set(
            item.pk!.S!.slice("COMMIT#".length),
            s === "committed" ? "committed" : s === "aborted" ? "aborted" : "none",
          );
        }
        keys = r.UnprocessedKeys?.[this.table]?.Keys ?? [];
        if (keys.length > 0) await backoff(retry);
      }
    });
    return out;
  }

  async abortAttempt(attempt: string, now: number): Promise<"committed" | "aborted"> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          // The same put as the take-over's: from now on the attempt's own commit fails.
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
      const item = (e as { Item?: ItemAv }).Item;
      if (item) return item.s?.S === "committed" ? "committed" : "aborted";
      return (await this.commitStates([attempt])).get(attempt) === "committed" ? "committed" : "aborted";
    }
  }

  async startRun(shard: number, prev: FoldState | undefined, next: FoldState): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: foldStateItem(shard, next),
          ...(prev
            ? {
                ConditionExpression: "r = :r AND d = :t",
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
          UpdateExpression: "SET d = :t",
          ConditionExpression: "r = :r",
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
    // Markers first (naming the shard of the counters and pages about to be written), as the close
    // reads only the shards its markers name; each once per container.
    await mapLimit(groups, 8, async (g) => {
      const k = `${g.accountId}\u0000${g.period}`;
      const counters = g.counted > 0 || g.counters.size > 0;
      const pages = g.raw.length > 0;
      const c = counters && !this.marked.has(`${k}#c`);
      const p = pages && !this.marked.has(`${k}#p`);
      if (!c && !p) return;
      await w.markUsage(
        g.accountId,
        g.period,
        new Set(c ? [FOLDED_SHARD] : []),
        new Set(p ? [FOLDED_SHARD] : []),
        g.end,
      );
      if (c) this.marked.add(`${k}#c`);
      if (p) this.marked.add(`${k}#p`);
    });
    // Pages keyed by the run (its instant first: late events are read by storage time), so a redo
    // puts the same items.
    const puts: WriteRequest[] = [];
    for (const g of groups)
      for (const [n, page] of w.packPages(g.raw).entries())
        puts.push({
          PutRequest: {
            Item: {
              pk: S(w.evtPk(g.accountId, g.period, FOLDED_SHARD)),
              sk: S(`${at}-f${shard}.${run}#${n}`),
              c: N(page.c),
              z: { B: page.z },
            },
          },
        });
    const batches: WriteRequest[][] = [];
    let batch: WriteRequest[] = [];
    let bytes = 0;
    for (const p of puts) {
      const size = (p.PutRequest?.Item?.z?.B?.length ?? 0) + 200;
      if (batch.length > 0 && (batch.length >= 25 || bytes + size > 8_000_000)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(p);
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
    await mapLimit(batches, 4, (b) => this.writeAll(b));
    // Counters: one increment per (account, period, counter) and run, refused when the counter
    // already carries this run (or a later one, which starts only once this one is done).
    const updates: { pk: string; sk: string; add: string; values: ItemAv; set: string }[] = [];
    for (const g of groups) {
      const pk = w.ctrPk(g.accountId, g.period, FOLDED_SHARD);
      const keys = [...g.counters.keys()].sort();
      if (keys.length === 0) {
        if (g.counted > 0)
          updates.push({
            pk,
            sk: w.eventsSk,
            add: "ADD e :e",
            set: "SET t = :t, fr = :r",
            values: { ":e": N(g.counted), ":t": N(g.uncharged ?? 0) },
          });
        continue;
      }
      for (const [i, key] of keys.entries()) {
        const c = g.counters.get(key)!;
        // The (account, period)'s counted events ride on its first counter (in key order: a redo
        // puts them on the same one).
        const e = i === 0 && g.counted > 0;
        const samples = c.first !== undefined || c.latest !== undefined;
        updates.push({
          pk,
          sk: key,
          add: `ADD q :q, n :n${e ? ", e :e" : ""}`,
          set: `SET t = :t, fr = :r${c.first !== undefined ? ", s = if_not_exists(s, :s)" : ""}${c.latest !== undefined ? ", l = :l" : ""}`,
          values: {
            ":q": N(c.quantity.toFixed()),
            ":n": N(c.events),
            ":t": N(c.newest),
            ...(e ? { ":e": N(g.counted) } : {}),
            ...(samples && c.first !== undefined ? { ":s": S(c.first) } : {}),
            ...(samples && c.latest !== undefined ? { ":l": S(c.latest) } : {}),
          },
        });
      }
    }
    await mapLimit(updates, 16, async (u) => {
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { pk: S(u.pk), sk: S(u.sk) },
            UpdateExpression: `${u.add} ${u.set}`,
            ConditionExpression: "attribute_not_exists(fr) OR fr < :r",
            ExpressionAttributeValues: { ...u.values, ":r": N(run) },
          }),
        );
      } catch (e) {
        // Already carries this run: its increment landed before (a redo, another fold at once).
        if (!isConditionFailure(e)) throw e;
      }
    });
  }

  private async writeAll(requests: WriteRequest[]) {
    let pending = requests;
    for (let retry = 0; pending.length > 0; retry++) {
      const r = await this.client.send(
        new BatchWriteItemCommand({ RequestItems: { [this.table]: pending } }),
      );
      pending = r.UnprocessedItems?.[this.table] ?? [];
      if (pending.length > 0) await backoff(retry);
    }
  }
}

const backoff = (retry: number) =>
  new Promise((res) => setTimeout(res, Math.floor(Math.random() * 20 * 2 ** Math.min(retry, 5)) + 5));

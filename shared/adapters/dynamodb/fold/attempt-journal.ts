/**
 * What an attempt writes in place of per-account items: one journal per fold shard its events'
 * accounts fall in (journal-codec.ts), its counted events pre-aggregated per (account, period,
 * counter), its stateful events raw, and the periods each (account, period) asks the fold to check
 * for a close. Plain puts, before the attempt's commit: a journal counts only once its commit exists.
 */
import { type AttributeValue, type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { mapLimit } from "../../../core/map-limit.js";
import { type Dec, ZERO } from "../../../core/money.js";
import { counterKey } from "../../../core/rating/counters.js";
import type { EventSample, LedgerEvent } from "../../../core/rating/types.js";
import {
  addCheck,
  FOLD_SHARDS,
  foldShardOf,
  type JournalGroup,
  type SummedGroup,
  summedGroup,
} from "../../../core/usage-fold.js";
import type { PreparedEvent } from "../../../ports/usage-store.js";
import { encodeJournal, journalItem } from "./journal-codec.js";

/** A counter's sample identity, when short enough to keep the counter item under 1 KB. */
const MAX_SAMPLE_JSON = 300;
const counterSample = (e: LedgerEvent, storedAt: number): string | undefined => {
  const json = JSON.stringify({ source: e.source, id: e.id, time: e.time, storedAt } satisfies EventSample);
  return Buffer.byteLength(json) <= MAX_SAMPLE_JSON ? json : undefined;
};

type Building = SummedGroup<{
  quantity: Dec;
  events: number;
  newest: number;
  first?: string;
  latest?: string;
}>;

/** The attempt's groups by fold shard. */
export function attemptJournals(
  members: readonly PreparedEvent[],
  now: number,
  shards = FOLD_SHARDS,
): Map<number, JournalGroup[]> {
  const groups = new Map<string, Building>();
  for (const p of members) {
    const c = p.contribution;
    const g = summedGroup(groups, p.accountId, c.period);
    if (g.end === undefined && p.periodEnd !== undefined) g.end = p.periodEnd;
    for (const [period, later] of p.checks ?? [[c.period, false] as const]) addCheck(g.checks, period, later);
    if (!c.counted) {
      g.raw.push(p.event);
      continue;
    }
    g.counted += 1;
    if (c.deltas.length === 0) g.uncharged = Math.max(g.uncharged ?? p.event.t, p.event.t);
    const sample = counterSample(p.event, now);
    for (const d of c.deltas) {
      const key = counterKey(d);
      const cur = g.counters.get(key) ?? { quantity: ZERO, events: 0, newest: p.event.t };
      cur.quantity = cur.quantity.plus(d.quantity);
      cur.events += d.events;
      cur.newest = Math.max(cur.newest, p.event.t);
      if (sample) {
        cur.first ??= sample;
        cur.latest = sample;
      }
      g.counters.set(key, cur);
    }
  }
  const out = new Map<number, JournalGroup[]>();
  for (const g of groups.values()) {
    const shard = foldShardOf(g.accountId, shards);
    const group: JournalGroup = {
      accountId: g.accountId,
      period: g.period,
      ...(g.end !== undefined ? { end: g.end } : {}),
      checks: [...g.checks],
      counted: g.counted,
      ...(g.uncharged !== undefined ? { uncharged: g.uncharged } : {}),
      counters: [...g.counters].map(([key, c]) => ({
        key,
        quantity: c.quantity.toFixed(),
        events: c.events,
        newest: c.newest,
        ...(c.first !== undefined ? { first: c.first } : {}),
        ...(c.latest !== undefined ? { latest: c.latest } : {}),
      })),
      raw: g.raw,
    };
    out.set(shard, [...(out.get(shard) ?? []), group]);
  }
  return out;
}

/** Puts the attempt's journals (idempotent: a re-sent put writes the same item). */
export async function writeJournals(
  client: DynamoDBClient,
  table: string,
  attempt: string,
  journals: ReadonlyMap<number, readonly JournalGroup[]>,
): Promise<void> {
  const items: Record<string, AttributeValue>[] = [];
  for (const [shard, groups] of journals)
    for (const [n, part] of encodeJournal(groups).entries()) items.push(journalItem(shard, attempt, n, part));
  await mapLimit(items, 8, (Item) => client.send(new PutItemCommand({ TableName: table, Item })));
}

/**
 * Loading usage straight into the usage store's items (benchmarks, migrations): counters, pages of
 * raw events and the usage markers with their shards (so the close reads only those), in BatchWriteItem requests of 25,
 * without identity claims or attempts. The caller vouches that every event is new and that no
 * ingest writes the same (account, period) meanwhile: a load's counters replace what their shard
 * held; pages and marker shards add up over calls. The close reads the result exactly as data
 * stored by `ingest`.
 */
import { randomUUID } from "node:crypto";
import { type AttributeValue, BatchWriteItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mapLimit } from "../../core/map-limit.js";
import { type CounterDelta, counterKey, mergeDeltas } from "../../core/rating/counters.js";
import type { LedgerEvent } from "../../core/rating/types.js";
import type { PeriodId } from "../../core/time.js";
import { putInBatches } from "./batch-put.js";
import { countedEventsItem, counterItem, pageSk, rawPageItem } from "./items/usage-period.js";
import { packPages } from "./usage/attempts.js";
import { markUsage } from "./usage/markers.js";

type ItemAv = Record<string, AttributeValue>;

export interface UsageLoad {
  readonly accountId: string;
  readonly period: PeriodId;
  /** Counters of the period's counted events (merged here), written to `counterShard`. */
  readonly counters?: { readonly deltas: readonly CounterDelta[]; readonly events: number };
  readonly counterShard?: number;
  /** Raw (stateful) events, in pages of ≤ 300 KB of JSON spread round-robin over `pageShards`. */
  readonly events?: readonly LedgerEvent[];
  readonly pageShards?: readonly number[];
}

/** Writes the loads' items, `concurrency` requests in flight; unprocessed items are sent again. */
export async function bulkLoadUsage(
  client: DynamoDBClient,
  table: string,
  loads: readonly UsageLoad[],
  concurrency = 8,
): Promise<void> {
  const items: ItemAv[] = [];
  const markers = new Map<
    string,
    { accountId: string; period: PeriodId; cs: Set<number>; ps: Set<number> }
  >();
  for (const load of loads) {
    const { items: its, cs, ps } = loadItems(load);
    items.push(...its);
    const k = JSON.stringify([load.accountId, load.period]);
    const m = markers.get(k) ?? {
      accountId: load.accountId,
      period: load.period,
      cs: new Set(),
      ps: new Set(),
    };
    for (const s of cs) m.cs.add(s);
    for (const s of ps) m.ps.add(s);
    markers.set(k, m);
  }
  await putInBatches(items, concurrency, async (puts) => {
    const r = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: puts } }));
    return (r.UnprocessedItems?.[table] ?? []) as typeof puts;
  });
  // Markers after the items (ADD: shards of earlier loads stay).
  await mapLimit([...markers.values()], concurrency, (m) =>
    markUsage(client, table, m.accountId, m.period, m.cs, m.ps, {}),
  );
}

function loadItems(load: UsageLoad): { items: ItemAv[]; cs: number[]; ps: readonly number[] } {
  const { accountId, period } = load;
  const items: ItemAv[] = [];
  const counterShard = load.counterShard ?? 0;
  const pageShards = load.pageShards ?? [0];
  if (load.counters) {
    const shard = { accountId, period, shard: counterShard };
    const deltas = mergeDeltas(load.counters.deltas);
    const events = load.counters.events;
    if (deltas.length === 0) items.push(countedEventsItem.av.item({ ...shard, events }));
    for (const [i, d] of deltas.entries())
      items.push(
        counterItem.av.item({
          ...shard,
          sk: counterKey(d),
          quantity: d.quantity.toFixed(),
          events: d.events,
          ...(i === 0 ? { shardEvents: events } : {}),
        }),
      );
  }
  const write = `bulk-${randomUUID()}`;
  const pages = packPages(load.events ?? []);
  for (const [n, page] of pages.entries())
    items.push(
      rawPageItem.av.item({
        accountId,
        period,
        shard: pageShards[n % pageShards.length]!,
        sk: pageSk(write, n),
        events: page.c,
        deflated: page.z,
      }),
    );
  const n = pages.length;
  return {
    items,
    cs: load.counters ? [counterShard] : [],
    ps: pageShards.slice(0, Math.min(n, pageShards.length)),
  };
}

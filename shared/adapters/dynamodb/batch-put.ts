/** Bulk puts for the loaders (benchmarks, tests at volume, migrations), through either client. */
import { mapLimit } from "../../core/map-limit.js";

export type PutRequest<Item> = { PutRequest: { Item: Item } };

/**
 * Puts every item, 25 per BatchWriteItem (the most one request takes), `concurrency` requests in
 * flight; what DynamoDB leaves unprocessed (`write` returns it) is sent again after a growing pause
 * of at most a second.
 */
export async function putInBatches<Item>(
  items: readonly Item[],
  concurrency: number,
  write: (puts: PutRequest<Item>[]) => Promise<PutRequest<Item>[]>,
): Promise<void> {
  const batches: Item[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  await mapLimit(batches, concurrency, async (batch) => {
    let pending = batch.map((Item) => ({ PutRequest: { Item } }));
    for (let retry = 0; pending.length > 0; retry++) {
      if (retry > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** retry)));
      pending = await write(pending);
    }
  });
}

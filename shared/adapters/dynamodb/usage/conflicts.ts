/**
 * Conflicts: an event whose identity is already stored with another body (first wins, G5). Each is
 * kept with its body under the account (ACCT#<account> / CONFLICT#…), and entered in the close
 * report's small index of its (account, period) (CONFLICTS#<account>#<period>).
 */
import { compositeKey } from "../../../core/keys.js";
import { mapLimit } from "../../../core/map-limit.js";
import type { PeriodId } from "../../../core/time.js";
import { utf8Prefix } from "../../../core/utf8.js";
import type { PeriodConflict, PreparedEvent, ShardsOf } from "../../../ports/usage-store.js";
import { conflictIndexItem, conflictItem, conflictsPk } from "../items/usage.js";
import { executeInserts, insertOf, type Winner } from "./claims.js";
import { consistentItems, type ItemAv, identityOf, S, type UsageTable } from "./keys.js";
import { flagConflict } from "./markers.js";

/** A conflicting body is kept up to this many UTF-8 bytes (the item limit is 400 KB; the rest is key and hashes). */
const MAX_CONFLICT_BODY = 256_000;

/**
 * Records a batch's conflicts: first every report index entry, then every conflict with its body,
 * each a conditional insert (an existing one is kept, with its first sighting), 25 per request. The
 * index first: the report never misses a conflict whose body is stored; a crash in between is
 * repaired by the re-delivery.
 */
export async function putConflicts(
  t: UsageTable,
  conflicts: readonly [PreparedEvent, Winner][],
  now: number,
  concurrency: number,
): Promise<void> {
  const seen = new Set<string>();
  const index: ItemAv[] = [];
  const bodies: ItemAv[] = [];
  for (const [p, first] of conflicts) {
    const e = p.event;
    const identity = identityOf(e);
    const key = compositeKey(identity, p.hash);
    if (seen.has(key)) continue; // the same conflicting version twice in one batch
    seen.add(key);
    const kept = utf8Prefix(p.body, MAX_CONFLICT_BODY);
    const body = kept.length < p.body.length ? `${kept}…` : p.body;
    const at = {
      accountId: first.accountId,
      identity,
      hash: p.hash,
      source: e.source,
      id: e.id,
      seenAt: now,
    };
    index.push(conflictIndexItem.av.item({ ...at, period: first.period }));
    bodies.push(
      conflictItem.av.item({
        ...at,
        firstHash: first.hash,
        conflictingHash: p.hash,
        conflictingBody: body,
        firstTime: first.t,
      }),
    );
  }
  // The markers' `cf` flags first: a close skips the conflicts query of a marker that says it
  // tracks conflicts (`cft`) and has none; a crash after a flag leaves a query that finds none.
  const flagged = new Map(conflicts.map(([, first]) => [compositeKey(first.accountId, first.period), first]));
  await mapLimit([...flagged.values()], 8, (first) => flagConflict(t, first.accountId, first.period));
  await insertAll(t, index, concurrency);
  await insertAll(t, bodies, concurrency);
}

/**
 * Conditional inserts (PartiQL INSERT: an item that exists is kept as it is), at most 25 and about
 * 1 MB per request; a statement that fails for another reason (throttled) is sent again.
 */
async function insertAll(t: UsageTable, items: readonly ItemAv[], concurrency: number) {
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
  await mapLimit(groups, concurrency, (g) =>
    executeInserts(t, "inserts", g, (item) => insertOf(t.table, item)),
  );
}

/** The period's conflicts from the report index, page by page; none read where the marker says none. */
export async function* periodConflicts(
  t: UsageTable,
  accountId: string,
  period: PeriodId,
  where?: ShardsOf,
): AsyncIterable<PeriodConflict> {
  if (where?.get(period)?.noConflicts) return;
  for await (const i of consistentItems(t, {
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": S(conflictsPk(accountId, period)) },
  }))
    yield conflictIndexItem.av.decode(i);
}

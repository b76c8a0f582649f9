/**
 * How the per-period account indexes (the period index, the unclosed-usage index, late conflicts)
 * key an account: a shard from the first byte of its id's SHA-256, so one period's entries spread
 * over a fixed number of partition keys and an account always lands on the same one; and the id
 * itself as the sort key, hashed when too long for one.
 */
import { createHash } from "node:crypto";

/** The account's shard, 0 to `shards` − 1 (at most 256). */
export const accountShard = (accountId: string, shards: number): number =>
  (createHash("sha256").update(accountId).digest()[0] as number) % shards;

/** An account id over 1,000 bytes is keyed by its SHA-256 (a sort key is at most 1,024 bytes). */
export const accountSortKey = (accountId: string): string =>
  Buffer.byteLength(accountId) <= 1000
    ? accountId
    : `sha256:${createHash("sha256").update(accountId).digest("hex")}`;

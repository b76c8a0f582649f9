/** Pieces of keys several item kinds share. */
import { createHash } from "node:crypto";

/** DynamoDB's bound on a sort key, in UTF-8 bytes. */
export const MAX_SORT_KEY_BYTES = 1_024;

/**
 * `s` in a key, or its SHA-256 (`sha256:<hex>`) when it is over `maxBytes` of UTF-8: a partition
 * key holds at most 2,048 bytes, a sort key 1,024, and ids and subjects come from senders.
 */
export const hashedPast = (s: string, maxBytes: number) =>
  Buffer.byteLength(s) <= maxBytes ? s : `sha256:${createHash("sha256").update(s).digest("hex")}`;

/** The account's shard among `shards` keys: the first byte of the SHA-256 of its id. */
export const accountShard = (accountId: string, shards: number) =>
  (createHash("sha256").update(accountId).digest()[0] as number) % shards;

/** An account id as a sort key: itself, or its hash past 1,000 bytes. */
export const accountSortKey = (accountId: string) => hashedPast(accountId, 1000);

/**
 * The key of an account's entry in a period's sharded index: `<prefix><period>#<shard>` (the
 * account's shard) and the account id as the sort key (its hash past 1,000 bytes).
 */
export const periodAccountKey =
  (shardPk: (period: string, shard: number) => string, shards: number) =>
  (k: { accountId: string; period: string }) => ({
    pk: shardPk(k.period, accountShard(k.accountId, shards)),
    sk: accountSortKey(k.accountId),
  });

/** An account's own partition: its markers of every period (usage, late) and their likes. */
export const accountPk = (accountId: string) => `ACCT#${accountId}`;

/** The key of an account's item of a period: the account's partition, the period after a prefix. */
export const accountPeriodKey =
  (partition: (accountId: string) => string, skPrefix: string) =>
  (k: { accountId: string; period: string }) => ({
    pk: partition(k.accountId),
    sk: `${skPrefix}${k.period}`,
  });

/**
 * The key of a kind with one item per id: the id after a prefix, a fixed sort key; `idOf` reads
 * the id back from a partition key.
 */
export const idKeyed = <F extends string>(field: F, prefix: string, sk: string) => ({
  key: (k: { readonly [P in F]: string }) => ({ pk: `${prefix}${k[field]}`, sk }),
  idOf: (pk: string) => pk.slice(prefix.length),
});

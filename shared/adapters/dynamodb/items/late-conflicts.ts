/**
 * Late conflicts (late-conflicts.ts) on the billing table: a re-delivery with other content after
 * its period closed, kept for the account's next close report and for the operators' listing.
 *
 * | item                    | pk                       | sk                                       |
 * |-------------------------|--------------------------|------------------------------------------|
 * | unreported, per account | LATECF#<account>         | <ref period>#<JSON [source,id]>#<hash>   |
 * | listing                 | LATECF#LIST#<shard 0-15> | <seenAt, 15 digits>#<account>#<…same>    |
 * |                         |                          | (past 1,024 bytes: <seenAt>#<SHA-256 of the rest>) |
 *
 * Attributes of both: accountId, referencePeriod, source, id, hash, seenAt. An account id or a
 * [source, id] over 600 bytes is keyed by its SHA-256; the listing's shard is a hash of the account id.
 */
import type { LateConflict } from "../../../ports/late-conflicts.js";
import { itemCodec, MAX_KEY_BYTES, num, str } from "./codec.js";
import { accountShard, hashedPast, MAX_SORT_KEY_BYTES } from "./keys.js";

export const LATE_CONFLICT_SHARDS = 16;

const hashed = (s: string) => hashedPast(s, 600);
export const lateConflictsPk = (accountId: string) => `LATECF#${hashed(accountId)}`;
export const lateConflictListPk = (shard: number) => `LATECF#LIST#${shard}`;
const entrySk = (c: LateConflict) =>
  `${c.referencePeriod}#${hashed(JSON.stringify([c.source, c.id]))}#${c.hash}`;

const fields = {
  accountId: str("accountId"),
  referencePeriod: str("referencePeriod"),
  source: str("source"),
  id: str("id"),
  hash: str("hash"),
  seenAt: num("seenAt"),
};
/**
 * The account id (an event's subject: ≤ 1,024 characters, 4 KB of UTF-8), the source (≤ 1,024
 * bytes), the id (≤ 256 characters, 1 KB), a key of at most 3 KB and small fields.
 */
const MAX_BYTES = 4_096 + 1_024 + 1_024 + MAX_KEY_BYTES + 200;

export const lateConflictItem = itemCodec({
  kind: "late conflict",
  key: (c: LateConflict) => ({ pk: lateConflictsPk(c.accountId), sk: entrySk(c) }),
  fields,
  maxBytes: MAX_BYTES,
});

export const lateConflictListItem = itemCodec({
  kind: "late conflict listing",
  key: (c: LateConflict) => {
    // The account and the entry's key each stay within 600 bytes, but together with the instant
    // they can pass DynamoDB's 1,024-byte sort key: past it, the two are keyed by their SHA-256.
    const at = `${String(c.seenAt).padStart(15, "0")}#`;
    return {
      pk: lateConflictListPk(accountShard(c.accountId, LATE_CONFLICT_SHARDS)),
      sk: `${at}${hashedPast(`${c.accountId}#${entrySk(c)}`, MAX_SORT_KEY_BYTES - Buffer.byteLength(at))}`,
    };
  },
  fields,
  maxBytes: MAX_BYTES,
});

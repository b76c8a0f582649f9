/**
 * Where dead letters live on the billing table: spread over sharded partition keys, so that a storm
 * of bad input (one sender, one account) never makes a hot key (data-model.md: dead letters).
 *
 * | item                          | pk                                   | sk                                       |
 * |-------------------------------|--------------------------------------|------------------------------------------|
 * | dead letter                   | DEADLETTER#<shard of its id, 00–63>  | <dead letter id>                         |
 * | dead letter by account        | DLI#<shard of its id, 0–7>#<subject> | <receivedAt, 15 digits>#<dead letter id> |
 * | dead letter (before sharding) | DEADLETTER                           | <dead letter id>                         |
 * | by account (before sharding)  | DLA#<subject>                        | <receivedAt, 15 digits>#<dead letter id> |
 *
 * A letter's shard is a hash of its id, so a letter is found (and replaced, and removed) by its id
 * alone. The shapes from before sharding are still read (listing moves them to their shard; an
 * account's letters merge both), never written.
 */
import { createHash } from "node:crypto";

/** Letter partitions: 64 keys take a 1,000-letters/s storm of 10 KB letters at ≈ 310 WCU/s each. */
export const DEAD_LETTER_SHARDS = 64;
/** Per-account index partitions: 8 keys take one account's 1,000 letters/s at ≈ 250 WCU/s each. */
export const LETTER_INDEX_SHARDS = 8;
/** The one partition every letter went to before sharding (read, migrated, never written). */
export const LEGACY_LETTER_PK = "DEADLETTER";

const shardOf = (id: string, shards: number) =>
  createHash("sha256").update(id, "utf8").digest().readUInt32BE(0) % shards;

export const letterPk = (shard: number) => `DEADLETTER#${String(shard).padStart(2, "0")}`;
export const letterShardPks = (): string[] =>
  Array.from({ length: DEAD_LETTER_SHARDS }, (_, s) => letterPk(s));
export const letterKey = (deadLetterId: string) => ({
  pk: letterPk(shardOf(deadLetterId, DEAD_LETTER_SHARDS)),
  sk: deadLetterId,
});
export const legacyLetterKey = (deadLetterId: string) => ({ pk: LEGACY_LETTER_PK, sk: deadLetterId });

/**
 * The subject in an index key: a subject over 512 bytes (it may be up to 1,024 characters) is keyed
 * by its SHA-256, so the key stays within DynamoDB's 2,048-byte limit.
 */
const subjectKey = (subject: string) =>
  Buffer.byteLength(subject) <= 512
    ? subject
    : `sha256:${createHash("sha256").update(subject).digest("hex")}`;
export const letterIndexPk = (subject: string, shard: number) => `DLI#${shard}#${subjectKey(subject)}`;
export const letterIndexPks = (subject: string): string[] =>
  Array.from({ length: LETTER_INDEX_SHARDS }, (_, s) => letterIndexPk(subject, s));
export const legacyLetterIndexPk = (subject: string) => `DLA#${subjectKey(subject)}`;
export const letterIndexSk = (receivedAt: number, deadLetterId: string) =>
  `${String(receivedAt).padStart(15, "0")}#${deadLetterId}`;

type IndexFields = { subject?: unknown; receivedAt?: unknown; deadLetterId?: unknown };
/** A letter's entry in its account's index (none without a subject). */
export const letterIndexKey = (i: IndexFields) =>
  i.subject === undefined
    ? undefined
    : {
        pk: letterIndexPk(String(i.subject), shardOf(String(i.deadLetterId), LETTER_INDEX_SHARDS)),
        sk: letterIndexSk(Number(i.receivedAt), String(i.deadLetterId)),
      };
/** Where the entry of a letter stored before sharding is. */
export const legacyLetterIndexKey = (i: IndexFields) =>
  i.subject === undefined
    ? undefined
    : {
        pk: legacyLetterIndexPk(String(i.subject)),
        sk: letterIndexSk(Number(i.receivedAt), String(i.deadLetterId)),
      };

/** DynamoDB's sort-key order for strings: their UTF-8 bytes. */
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

/**
 * One ordered stream from several, each already ordered by `key` (a Query's sort key): a k-way
 * merge that holds one item per stream, so an account's letters are read page by page whatever
 * their number. Ties keep the earlier stream's item first.
 */
export async function* mergeByKey<T>(
  streams: readonly AsyncIterable<T>[],
  key: (t: T) => string,
): AsyncGenerator<T> {
  const its = streams.map((s) => s[Symbol.asyncIterator]());
  const heads = await Promise.all(its.map((it) => it.next()));
  for (;;) {
    let best = -1;
    for (const [i, h] of heads.entries()) {
      if (h.done) continue;
      const b = best >= 0 ? heads[best] : undefined;
      if (!b || b.done || byUtf8(key(h.value), key(b.value)) < 0) best = i;
    }
    const chosen = heads[best];
    if (best < 0 || !chosen || chosen.done) return;
    yield chosen.value;
    heads[best] = await its[best]!.next();
  }
}

/**
 * Where dead letters live on the billing table: spread over sharded partition keys, so that a storm
 * of bad input (one sender, one account) never makes a hot key (data-model.md: dead-letter storm).
 *
 * | item                          | pk                                   | sk                                       |
 * |-------------------------------|--------------------------------------|------------------------------------------|
 * | dead letter                   | DEADLETTER#<shard of its id, 00–63>  | <dead letter id>                         |
 * | dead letter by account        | DLA#<subject>                        | <receivedAt, 15 digits>#<dead letter id> |
 * | … in a burst                  | DLS#<shard of its id, 1–7>#<subject> | <receivedAt, 15 digits>#<dead letter id> |
 * | burst marker                  | DLA#<subject>                        | <receivedAt, 15 digits>#                 |
 * | dead letter (before sharding) | DEADLETTER                           | <dead letter id>                         |
 *
 * A letter's shard is a hash of its id, so a letter is found (and replaced, and removed) by its id
 * alone. An account's index stays on its one key (a close reads it with one query) until a burst:
 * a second letter of the same account and receipt instant in one container (a batch of bad input)
 * goes to one of 7 more keys, after a marker at that instant on the account's key tells readers to
 * read them too. Letters under the single partition from before sharding are still read (the
 * listing moves them to their shard), never written.
 */
import { createHash } from "node:crypto";

/** Letter partitions: 64 keys take a 1,000-letters/s storm of 9 KB letters at ≈ 280 WRU/s each. */
export const DEAD_LETTER_SHARDS = 64;
/** An account's index keys in a burst: its own and 7 more (1,000 letters/s: ≈ 250 WRU/s each). */
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
/** The account's index key (every entry outside bursts, and the burst markers). */
export const letterIndexPk = (subject: string) => `DLA#${subjectKey(subject)}`;
/** The index key of a letter written in a burst: 1–7 by a hash of its id. */
export const burstIndexPk = (subject: string, deadLetterId: string) =>
  `DLS#${1 + shardOf(deadLetterId, LETTER_INDEX_SHARDS - 1)}#${subjectKey(subject)}`;
export const burstIndexPks = (subject: string): string[] =>
  Array.from({ length: LETTER_INDEX_SHARDS - 1 }, (_, s) => `DLS#${s + 1}#${subjectKey(subject)}`);
export const letterIndexSk = (receivedAt: number, deadLetterId: string) =>
  `${String(receivedAt).padStart(15, "0")}#${deadLetterId}`;
/** The marker of a burst at `receivedAt`: inside every receipt window that holds the burst's letters. */
export const burstMarkerKey = (subject: string, receivedAt: number) => ({
  pk: letterIndexPk(subject),
  sk: letterIndexSk(receivedAt, ""),
});

/**
 * A stored letter's entry in its account's index (none without a subject): on the key the letter
 * names (`ix`, a burst key) or the account's own.
 */
export const letterIndexKey = (i: {
  subject?: unknown;
  receivedAt?: unknown;
  deadLetterId?: unknown;
  ix?: unknown;
}) =>
  i.subject === undefined
    ? undefined
    : {
        pk: typeof i.ix === "string" ? i.ix : letterIndexPk(String(i.subject)),
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

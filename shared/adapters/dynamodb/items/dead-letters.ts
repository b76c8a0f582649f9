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
 * A letter's attributes: deadLetterId, messageId, receivedAt, reason, subject, event (its CloudEvent
 * source, id, type, subject as far as read), bodyBytes, bodySha256; `body` when it is no longer than
 * the excerpt, else `excerpt` and `bodyKey` (the body in the blob store); `ix`, the burst key its
 * index entry is under. An index entry: deadLetterId, messageId, receivedAt, reason. A marker: burst,
 * receivedAt.
 *
 * A letter's shard is a hash of its id, so a letter is found (and replaced, and removed) by its id
 * alone. An account's index stays on its one key (a close reads it with one query) until a burst:
 * a second letter of the same account and receipt instant in one container (a batch of bad input)
 * goes to one of 7 more keys, after a marker at that instant on the account's key tells readers to
 * read them too. Letters under the single partition from before sharding are still read (the
 * listing moves them to their shard), never written.
 */
import { createHash } from "node:crypto";
import type { EventReference } from "../../../ports/storage.js";
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { bool, custom, itemCodec, MAX_KEY_BYTES, num, opt, str } from "./codec.js";
import { hashedPast } from "./keys.js";

/** Letter partitions: 64 keys take a 1,000-letters/s storm of 9 KB letters at ≈ 280 WRU/s each. */
export const DEAD_LETTER_SHARDS = 64;
/** An account's index keys in a burst: its own and 7 more (1,000 letters/s: ≈ 250 WRU/s each). */
export const LETTER_INDEX_SHARDS = 8;
/** The one partition every letter went to before sharding (read, migrated, never written). */
export const LEGACY_LETTER_PK = "DEADLETTER";

const shardOf = (id: string, shards: number) =>
  createHash("sha256").update(id, "utf8").digest().readUInt32BE(0) % shards;

/** Every letter partition's key starts so; every index key with one of INDEX_PK_PREFIXES. */
export const LETTER_PK_PREFIX = "DEADLETTER#";
export const INDEX_PK_PREFIXES = ["DLA#", "DLS#"] as const;
export const letterPk = (shard: number) => `${LETTER_PK_PREFIX}${String(shard).padStart(2, "0")}`;
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
const subjectKey = (subject: string) => hashedPast(subject, 512);
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

/** A stored letter's event reference: its string attributes only. */
const eventReference = custom<EventReference>(
  "event",
  {
    to: (v) => v,
    from: (v) =>
      Object.fromEntries(
        Object.entries(v !== null && typeof v === "object" ? v : {}).filter(
          ([k, x]) => ["source", "id", "type", "subject"].includes(k) && typeof x === "string",
        ),
      ),
  },
  {
    to: (v) => ({
      M: Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === undefined ? [] : [[k, { S: x }]]))),
    }),
    from: (v) =>
      Object.fromEntries(
        Object.entries(v?.M ?? {}).flatMap(([k, x]) => (x.S === undefined ? [] : [[k, x.S]])),
      ),
  },
);

const letterFields = {
  deadLetterId: str("deadLetterId"),
  messageId: str("messageId"),
  receivedAt: num("receivedAt"),
  reason: str("reason"),
  subject: opt(str("subject")),
  event: opt(eventReference),
  /** Left out when the body is kept inline (it is the body). */
  excerpt: opt(str("excerpt")),
  /** Absent on letters from before they were recorded (derived from the body then). */
  bodyBytes: opt(num("bodyBytes")),
  bodySha256: opt(str("bodySha256")),
  body: opt(str("body")),
  bodyKey: opt(str("bodyKey")),
  /** The burst key its index entry is under (none: the account's own key). */
  indexPk: opt(str("ix")),
};

/**
 * A dead letter: ≈ 23 KB at most as written (excerpt or body ≤ 8 KiB, reason ≤ 2,000 UTF-16 units,
 * subject ≤ 1,024, ids; test/integration/dead-letters-any-size.test.ts), bounded here by the item
 * limit only: the store that must never refuse a bad message gets DynamoDB's own bound, named.
 */
export const deadLetterItem = itemCodec({
  kind: "dead letter",
  key: (k: { deadLetterId: string }) => letterKey(k.deadLetterId),
  fields: letterFields,
  maxBytes: ITEM_LIMIT_BYTES,
});

/** A letter under the one partition from before sharding (read, migrated, never written). */
export const legacyDeadLetterItem = itemCodec({
  kind: "dead letter (before sharding)",
  key: (k: { deadLetterId: string }) => legacyLetterKey(k.deadLetterId),
  fields: letterFields,
  maxBytes: ITEM_LIMIT_BYTES,
});

/** A letter's entry in its account's index: on its account's key or, in a burst, a burst key. */
export const letterIndexItem = itemCodec({
  kind: "dead letter index entry",
  key: (k: { indexPk: string; receivedAt: number; deadLetterId: string }) => ({
    pk: k.indexPk,
    sk: letterIndexSk(k.receivedAt, k.deadLetterId),
  }),
  fields: {
    deadLetterId: str("deadLetterId"),
    messageId: str("messageId"),
    receivedAt: num("receivedAt"),
    reason: str("reason"),
  },
  // Reason ≤ 2,000 UTF-16 units (6 KB), the id twice, the key.
  maxBytes: 8_192 + MAX_KEY_BYTES,
});

export const burstMarkerItem = itemCodec({
  kind: "dead letter burst marker",
  key: (k: { subject: string; receivedAt: number }) => burstMarkerKey(k.subject, k.receivedAt),
  fields: { burst: bool("burst"), receivedAt: num("receivedAt") },
  maxBytes: MAX_KEY_BYTES + 50,
});

/**
 * A stored letter's entry in its account's index (none without a subject): on the key the letter
 * names (`ix`, a burst key) or the account's own.
 */
export const letterIndexKey = (l: {
  subject?: string;
  receivedAt: number;
  deadLetterId: string;
  indexPk?: string;
}) =>
  l.subject === undefined
    ? undefined
    : letterIndexItem.key({ ...l, indexPk: l.indexPk ?? letterIndexPk(l.subject) });

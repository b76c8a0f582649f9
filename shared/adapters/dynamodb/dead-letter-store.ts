/**
 * Dead letters on the billing table (items/dead-letters.ts): each letter on its shard and, when it
 * names an account, an entry in that account's index, written together in one transaction.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { compareStrings } from "../../core/compare.js";
import { mapLimit } from "../../core/map-limit.js";
import type { AccountLetter, DeadLetter, DeadLetterStore } from "../../ports/storage.js";
import {
  burstIndexPk,
  burstIndexPks,
  burstMarkerItem,
  deadLetterItem,
  LEGACY_LETTER_PK,
  legacyDeadLetterItem,
  letterIndexItem,
  letterIndexKey,
  letterIndexPk,
  letterShardPks,
} from "./items/dead-letters.js";
import { isTransactionRace, queryAll, queryItems, type TransactItem } from "./paginate.js";

/** The fields of a stored letter that place its account index entry. */
type StoredLetterKeys = Pick<
  ReturnType<typeof deadLetterItem.decode>,
  "deadLetterId" | "subject" | "receivedAt" | "indexPk"
>;
type Key = { pk: string; sk: string };

export class DynamoDeadLetterStore implements DeadLetterStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** A condition on the letter as it was read (none: absent). */
  private unchanged(old: StoredLetterKeys | undefined) {
    return old
      ? {
          ConditionExpression: "#receivedAt = :receivedAt",
          ExpressionAttributeNames: deadLetterItem.names("receivedAt"),
          ExpressionAttributeValues: deadLetterItem.values({ receivedAt: old.receivedAt }),
        }
      : { ConditionExpression: "attribute_not_exists(pk)" };
  }

  /**
   * The letter and its entry in the account index in one transaction; a letter replaced (an
   * SQS re-delivery of the same message) moves its index entry. The transaction's condition is the
   * letter as it was read, so two concurrent puts of one letter never leave two index entries.
   */
  async put(letter: DeadLetter): Promise<void> {
    // In a burst the entry goes to a burst key, which the letter names (`ix`) for its removal.
    const indexPk =
      letter.subject === undefined ? undefined : await this.burstIndexFor(letter, letter.subject);
    // The excerpt is the body when the body is kept inline: stored once.
    const stored = { ...letter, excerpt: letter.body === undefined ? letter.excerpt : undefined, indexPk };
    const Item = deadLetterItem.item(stored);
    const index = letterIndexKey(stored);
    const key = deadLetterItem.key(letter);
    await this.transactOnLetter(key, (old) => {
      const oldIndex = old && letterIndexKey(old);
      const moved = oldIndex && (!index || oldIndex.pk !== index.pk || oldIndex.sk !== index.sk);
      return [
        { Put: { TableName: this.table, Item, ...this.unchanged(old) } },
        ...(index
          ? [{ Put: { TableName: this.table, Item: letterIndexItem.item({ ...letter, indexPk: index.pk }) } }]
          : []),
        ...(moved ? [{ Delete: { TableName: this.table, Key: oldIndex } }] : []),
      ];
    });
  }

  /**
   * (subject, receivedAt) → its burst marker's write, once this container has put a letter of that
   * account at that instant: the ingest gives one instant to a batch, so a batch's bad messages of
   * one account are a burst from its second letter on. Old instants are forgotten past 10,000.
   */
  private readonly bursts = new Map<string, Promise<void> | null>();

  /** The burst key of this letter's index entry, or undefined: the account's own key. */
  private async burstIndexFor(letter: DeadLetter, subject: string): Promise<string | undefined> {
    const k = `${letter.receivedAt}\n${subject}`;
    const seen = this.bursts.get(k);
    if (seen === undefined) {
      if (this.bursts.size >= 10_000) this.bursts.delete(this.bursts.keys().next().value ?? k);
      this.bursts.set(k, null);
      return undefined;
    }
    // The marker first: a reader of the account's key that finds it reads the burst keys too.
    let marker = seen;
    if (!marker) {
      const Item = burstMarkerItem.item({ subject, receivedAt: letter.receivedAt, burst: true });
      marker = this.doc.send(new PutCommand({ TableName: this.table, Item })).then(() => undefined);
      // A failed write is tried again by the next letter of the burst.
      marker.catch(() => this.bursts.set(k, null));
      this.bursts.set(k, marker);
    }
    await marker;
    return burstIndexPk(subject, letter.deadLetterId);
  }

  /**
   * Writes the transaction `items` builds from the letter as stored now (none: nothing to write).
   * Its conditions are on that letter, so a concurrent put or remove makes it fail: it is then read
   * and built again, up to 9 attempts in all.
   */
  private async transactOnLetter(
    key: Key,
    items: (old: StoredLetterKeys | undefined) => TransactItem[] | undefined,
  ): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const TransactItems = items(await this.letterKeys(key));
      if (!TransactItems) return false;
      try {
        await this.doc.send(new TransactWriteCommand({ TransactItems }));
        return true;
      } catch (e) {
        // Changed since it was read (a concurrent put or remove): read it again.
        if (!isTransactionRace(e) || attempt >= 8) throw e;
      }
    }
  }

  /** The index-relevant fields of a stored letter (consistent read), or undefined. */
  private async letterKeys(key: Key): Promise<StoredLetterKeys | undefined> {
    const r = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: key,
        ...deadLetterItem.projection("deadLetterId", "subject", "receivedAt", "indexPk"),
        ConsistentRead: true,
      }),
    );
    return r.Item && deadLetterItem.decode(r.Item);
  }

  /**
   * The account's index in [from, until), oldest first (receipt, then id), page by page: its own key
   * alone — one query when it holds no more than a page — unless a burst marker lies in the window;
   * then its 7 burst keys too, merged in sort-key order.
   */
  async *accountLetters(
    accountId: string,
    received: { readonly from: number; readonly until: number },
  ): AsyncIterable<AccountLetter> {
    const range = (pk: string) => ({
      // [from, until): "<until>" sorts before every "<until>#<id>".
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :until",
      ExpressionAttributeValues: {
        ":pk": pk,
        ":from": String(received.from).padStart(15, "0"),
        ":until": String(received.until).padStart(15, "0"),
      },
      ConsistentRead: true,
    });
    const isMarker = (i: Record<string, unknown>) => burstMarkerItem.decode(i).burst;
    const own = letterIndexPk(accountId);
    const first = await this.doc.send(new QueryCommand({ TableName: this.table, ...range(own) }));
    const firstItems = first.Items ?? [];
    let entries: AsyncIterable<Record<string, unknown>>;
    if (!first.LastEvaluatedKey && !firstItems.some(isMarker)) entries = listOf(firstItems);
    else {
      const marked = await queryAll(this.doc, this.table, {
        ...range(own),
        FilterExpression: "attribute_exists(#burst)",
        ...burstMarkerItem.projection("burst"),
      });
      const pks = marked.length > 0 ? [own, ...burstIndexPks(accountId)] : [own];
      entries = mergeByKey(
        pks.map((pk) => queryItems(this.doc, this.table, range(pk))),
        (i) => String(i.sk),
      );
    }
    for await (const i of entries) if (!isMarker(i)) yield letterIndexItem.decode(i);
  }

  /**
   * Every letter, oldest first (receivedAt, then id): every shard read (16 at a time), and the
   * letters still under the partition from before sharding moved to their shard on the way.
   */
  async list(): Promise<DeadLetter[]> {
    const read = (pk: string) =>
      queryAll(this.doc, this.table, {
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk },
        ConsistentRead: true,
      });
    const [legacy = [], ...shards] = await mapLimit([LEGACY_LETTER_PK, ...letterShardPks()], 16, read);
    const byId = new Map<string, ReturnType<typeof deadLetterItem.decode>>();
    for (const i of shards.flat().map(deadLetterItem.decode)) byId.set(i.deadLetterId, i);
    for (const item of legacy) {
      const l = legacyDeadLetterItem.decode(item);
      // A letter put again since (an SQS re-delivery) replaces the one from before sharding.
      if (!byId.has(l.deadLetterId)) byId.set(l.deadLetterId, l);
      await this.migrateLetter(item, l);
    }
    const letters = [...byId.values()].map(({ indexPk: _, event, ...l }): DeadLetter => {
      const body = l.body;
      return {
        ...l,
        ...(event !== undefined ? { event } : {}),
        // Letters from before these were recorded: derived from the body.
        excerpt: l.excerpt ?? body ?? "",
        bodyBytes: l.bodyBytes ?? (body !== undefined ? Buffer.byteLength(body) : 0),
        bodySha256: l.bodySha256 ?? "",
      };
    });
    return letters.sort(
      (a, b) => a.receivedAt - b.receivedAt || compareStrings(a.deadLetterId, b.deadLetterId),
    );
  }

  /**
   * Moves a letter stored before sharding to its shard, in one transaction (its index entry is
   * where an entry outside a burst is now: it stays); when its shard already holds a newer letter of
   * that id, the old letter and its entry are only deleted. A concurrent change makes it give up:
   * the next listing tries again.
   */
  private async migrateLetter(
    item: Record<string, unknown>,
    letter: ReturnType<typeof deadLetterItem.decode>,
  ): Promise<void> {
    const dropOld: TransactItem = {
      Delete: { TableName: this.table, Key: legacyDeadLetterItem.key(letter), ...this.unchanged(letter) },
    };
    const oldIndex = letterIndexKey(letter);
    try {
      await this.transactOnLetter(deadLetterItem.key(letter), (current) => {
        if (!current)
          return [
            dropOld,
            {
              Put: {
                TableName: this.table,
                // The item as it was stored, every attribute kept, under its shard's key.
                Item: { ...item, ...deadLetterItem.key(letter) },
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
          ];
        const index = letterIndexKey(current);
        const stale = oldIndex && (!index || index.pk !== oldIndex.pk || index.sk !== oldIndex.sk);
        return [dropOld, ...(stale ? [{ Delete: { TableName: this.table, Key: oldIndex } }] : [])];
      });
    } catch (e) {
      if (!isTransactionRace(e)) throw e;
    }
  }

  /** The letter and its account index entry, in one transaction (wherever the letter is stored). */
  async remove(deadLetterId: string): Promise<void> {
    const removeAt = (key: Key) =>
      this.transactOnLetter(key, (old) => {
        if (!old) return undefined; // not (or no longer) there
        const index = letterIndexKey(old);
        return [
          { Delete: { TableName: this.table, Key: key, ...this.unchanged(old) } },
          ...(index ? [{ Delete: { TableName: this.table, Key: index } }] : []),
        ];
      });
    if (!(await removeAt(deadLetterItem.key({ deadLetterId }))))
      await removeAt(legacyDeadLetterItem.key({ deadLetterId }));
  }
}

async function* listOf<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

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

/**
 * The single DynamoDB table behind every storage port (pk/sk single-table design).
 *
 * | item                | pk                       | sk                                   |
 * |---------------------|--------------------------|--------------------------------------|
 * | usage (G5, counters, raw events, conflicts): usage-store.ts; accounts and tariffs: config-store.ts |
 * | period close        | ACCT#<account>           | CLOSE#<period>                       |
 * | late marker (G7)    | ACCT#<account>           | LATE#<period>                        |
 * | invoice lines, in chunks: line-chunks.ts | ACCT#<account> | LINE#<ref period>#<period>#C<chunk> |
 * | dead letters, sharded, and their per-account index: dead-letter-keys.ts |
 * | report chunk: report-chunks.ts | REPORT#<account>#<period> | <list>#<chunk>           |
 * | line explanation: explanations.ts | EXPL#<line id>          | EXPL                     |
 * | period index: period-index.ts | PERIOD#<period>#<shard>, PERIOD#LIST | <accountId>, <period> |
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { InvoiceLine } from "../../contract/invoice-line.js";
import { compareStrings } from "../../core/compare.js";
import type { BillingConfig } from "../../core/config.js";
import { mapLimit } from "../../core/map-limit.js";
import type { LineExplanation } from "../../core/rating/explain/explain.js";
import type { PeriodId } from "../../core/time.js";
import type { ExplanationStore } from "../../ports/explanations.js";
import type { KeyedPeriodIndexEntry, PeriodIndex, PeriodIndexEntry } from "../../ports/period-index.js";
import type {
  AccountLetter,
  ClaimOutcome,
  CloseClaim,
  CloseRecord,
  ConfigStore,
  DeadLetter,
  DeadLetterStore,
  EventReference,
  LateMarker,
  PeriodStore,
} from "../../ports/storage.js";
import { billedKey } from "./billed-key.js";
import { DynamoConfigStore } from "./config-store.js";
import {
  burstIndexPk,
  burstIndexPks,
  burstMarkerKey,
  LEGACY_LETTER_PK,
  legacyLetterKey,
  letterIndexKey,
  letterIndexPk,
  letterKey,
  letterShardPks,
  mergeByKey,
} from "./dead-letter-keys.js";
import { explanationPuts, readExplanation } from "./explanations.js";
import { DynamoLateConflicts } from "./late-conflicts.js";
import { lineChunkItems, linesOfItem } from "./line-chunks.js";
import {
  isConditionFailure,
  isTransactionRace,
  queryAll,
  queryItems,
  type TransactItem,
  transactUnderClaim,
  writeAllUnderClaim,
} from "./paginate.js";
import * as periodIndex from "./period-index.js";
import { readReportChunk, writeReportChunks } from "./report-chunks.js";
import { DynamoUnclosedUsageIndex } from "./unclosed-usage.js";
import { DynamoUsageStore, type UsageStoreOptions } from "./usage-store.js";

const acct = (accountId: string) => `ACCT#${accountId}`;
/** The fields of a stored dead letter that place its account index entry. */
type StoredLetterKeys = { deadLetterId: string; subject?: string; receivedAt: number; ix?: string };
const closeKey = (accountId: string, period: PeriodId) => ({
  pk: billedKey(accountId),
  sk: `CLOSE#${period}`,
});
/** Condition: the close record is still `owner`'s "closing" claim. */
const heldBy = (owner: string, values: Record<string, unknown> = {}) => ({
  ConditionExpression: "#s = :closing AND #o = :owner",
  ExpressionAttributeNames: { "#s": "status", "#o": "owner" },
  ExpressionAttributeValues: { ":closing": "closing", ":owner": owner, ...values },
});

export async function ensureBillingTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      }),
    );
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  // Until ACTIVE, however long that takes (DynamoDB Local: at once; AWS: seconds).
  for (;;) {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (d.Table?.TableStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class DynamoBillingStore
  implements PeriodStore, PeriodIndex, DeadLetterStore, ConfigStore, ExplanationStore
{
  private readonly doc: DynamoDBDocumentClient;
  /** The table's client and name, for diagnostics over the same table (test/support/table-scans.ts). */
  readonly client: DynamoDBClient;
  /** Identity claims, counters and raw events (usage-store.ts). */
  readonly usage: DynamoUsageStore;
  /** Accounts and tariffs, one item each (config-store.ts). */
  readonly configs: DynamoConfigStore;
  /** Accounts with usage not closed yet, by period (unclosed-usage.ts). */
  readonly unclosed: DynamoUnclosedUsageIndex;
  /** Conflicts of periods already closed, for the next close report (late-conflicts.ts). */
  readonly lateConflicts: DynamoLateConflicts;
  constructor(
    client: DynamoDBClient,
    readonly table: string,
    opts: UsageStoreOptions = {},
  ) {
    this.client = client;
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.usage = new DynamoUsageStore(client, table, opts);
    this.configs = new DynamoConfigStore(client, table);
    this.unclosed = new DynamoUnclosedUsageIndex(client, table);
    this.lateConflicts = new DynamoLateConflicts(client, table);
  }

  private queryAll(input: Omit<QueryCommandInput, "TableName">) {
    return queryAll(this.doc, this.table, input);
  }

  // ---- PeriodStore ----
  async getClose(accountId: string, period: PeriodId): Promise<CloseRecord | undefined> {
    const r = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: closeKey(accountId, period),
        ConsistentRead: true,
      }),
    );
    return r.Item ? toClose(r.Item) : undefined;
  }

  async claimClose(
    accountId: string,
    period: PeriodId,
    claim: CloseClaim,
    now: number,
  ): Promise<ClaimOutcome> {
    try {
      const r = await this.doc.send(
        new PutCommand({
          TableName: this.table,
          ReturnValues: "ALL_OLD",
          Item: {
            ...closeKey(accountId, period),
            accountId,
            period,
            status: "closing",
            owner: claim.owner,
            startedAt: claim.startedAt,
            leaseUntil: claim.leaseUntil,
          },
          // No record yet, or a "closing" one whose run crashed (lease passed; none: written before leases).
          ConditionExpression:
            "attribute_not_exists(pk) OR (#s = :closing AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now))",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":closing": "closing", ":now": now },
        }),
      );
      return { kind: "claimed", takenOver: r.Attributes !== undefined };
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    const record = await this.getClose(accountId, period);
    if (!record) throw new Error(`close record of ${accountId} ${period} vanished while claiming it`);
    return record.status === "closed" ? { kind: "closed", record } : { kind: "claimed-by-other", record };
  }

  async writeCloseLines(
    accountId: string,
    period: PeriodId,
    owner: string,
    lines: InvoiceLine[],
    opts: { fresh?: boolean; flagUsage?: boolean; explanations?: readonly LineExplanation[] } = {},
  ): Promise<boolean> {
    const chunks = lineChunkItems(billedKey(accountId), period, lines);
    const writing = new Set(chunks.map((c) => String(c.item.sk)));
    // Items of a crashed attempt at this period that this attempt does not write (e.g. the tariff
    // changed): chunks (`period`) and lines stored one per item, before lines were chunked (`line.period`).
    const stale = opts.fresh
      ? []
      : (
          await this.queryAll({
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
            FilterExpression: "#p = :period OR #l.#p = :period",
            ExpressionAttributeNames: { "#l": "line", "#p": "period" },
            ExpressionAttributeValues: { ":pk": billedKey(accountId), ":p": "LINE#", ":period": period },
            ProjectionExpression: "pk, sk",
            ConsistentRead: true,
          })
        ).filter((i) => !writing.has(String(i.sk)));
    const writes = [
      ...chunks.map((c) => ({ item: { Put: { TableName: this.table, Item: c.item } }, bytes: c.bytes })),
      ...stale.map((i) => ({
        item: { Delete: { TableName: this.table, Key: { pk: i.pk, sk: i.sk } } },
        bytes: 200,
      })),
      // The usage marker (usage-store.ts), flagged closed: a later close skips this period's record.
      ...(opts.flagUsage
        ? [
            {
              item: {
                Update: {
                  TableName: this.table,
                  Key: { pk: acct(accountId), sk: `USAGE#${period}` },
                  UpdateExpression: "SET closed = :t",
                  ExpressionAttributeValues: { ":t": true },
                },
              },
              bytes: 200,
            },
          ]
        : []),
      // Each line's explanation in the same transactions: a small close is one write.
      ...explanationPuts(this.table, accountId, period, opts.explanations ?? []),
    ];
    // Every write in a transaction with a check that this run still holds the claim: a closed period,
    // or one another run took over, is never written (G7: closed periods are immutable).
    return writeAllUnderClaim(this.doc, this.claimCheck(accountId, period, owner), writes);
  }

  async finishClose(
    accountId: string,
    period: PeriodId,
    owner: string,
    at: number,
    report: unknown,
    opts: { listPeriod?: boolean; references?: readonly PeriodId[] } = {},
  ): Promise<boolean> {
    if (opts.listPeriod !== false) await periodIndex.notePeriod(this.doc, this.table, period);
    // The record closed (its condition: `owner` still holds the claim) and the account entered in
    // the period index, atomically.
    return transactUnderClaim(this.doc, [
      {
        Update: {
          TableName: this.table,
          Key: closeKey(accountId, period),
          UpdateExpression: "SET #s = :closed, closedAt = :at, report = :report REMOVE leaseUntil",
          ...heldBy(owner, { ":closed": "closed", ":at": at, ":report": JSON.stringify(report) }),
        },
      },
      periodIndex.periodIndexPut(this.table, accountId, period, at, opts.references ?? []),
    ]);
  }

  // ---- PeriodIndex: period-index.ts ----
  closedAccounts(period: PeriodId): Promise<PeriodIndexEntry[]> {
    return periodIndex.closedAccounts(this.doc, this.table, period);
  }

  closedAccountsFrom(period: PeriodId, fromKey?: string): AsyncIterable<KeyedPeriodIndexEntry> {
    return periodIndex.closedAccountsFrom(this.doc, this.table, period, fromKey);
  }

  closedAccount(accountId: string, period: PeriodId): Promise<PeriodIndexEntry | undefined> {
    return periodIndex.closedAccount(this.doc, this.table, accountId, period);
  }

  async markExported(entry: Required<Omit<PeriodIndexEntry, "references">>): Promise<void> {
    await periodIndex.markExported(this.doc, this.table, entry);
    // One update lists the period (an entry created by a repair of a close from before the index, or
    // a close that left the listing to its exports: finishClose `listPeriod`) and counts the change.
    await this.notePeriodChanged(entry.period);
  }

  closedPeriods(): Promise<PeriodId[]> {
    return periodIndex.closedPeriods(this.doc, this.table);
  }

  notePeriodChanged(period: PeriodId): Promise<void> {
    return periodIndex.notePeriod(this.doc, this.table, period, { changed: true });
  }

  periodsToManifest(): Promise<{ period: PeriodId; changes: number }[]> {
    return periodIndex.periodsToManifest(this.doc, this.table);
  }

  markManifested(period: PeriodId, changes: number): Promise<void> {
    return periodIndex.markManifested(this.doc, this.table, period, changes);
  }

  async markLate(accountId: string, period: PeriodId, at: number, opts: { later?: boolean } = {}) {
    // An update, not a put: a `later` flag already set stays set (another event of the period carries state).
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: acct(accountId), sk: `LATE#${period}` },
        UpdateExpression: opts.later
          ? "SET period = :p, markedAt = :m, later = :t"
          : "SET period = :p, markedAt = :m, later = if_not_exists(later, :f)",
        ExpressionAttributeValues: {
          ":p": period,
          ":m": at,
          ...(opts.later ? { ":t": true } : { ":f": false }),
        },
      }),
    );
  }

  async latePeriods(accountId: string): Promise<LateMarker[]> {
    const items = await this.queryAll({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": acct(accountId), ":p": "LATE#" },
      ConsistentRead: true,
    });
    return items.map((i) => ({
      period: String(i.period),
      markedAt: Number(i.markedAt),
      later: i.later !== false,
    }));
  }

  async clearLate(accountId: string, period: PeriodId, markedAt: number): Promise<void> {
    // Only the marker that was read: one written meanwhile stays for the next close.
    await this.doc
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: acct(accountId), sk: `LATE#${period}` },
          ConditionExpression: "markedAt = :m",
          ExpressionAttributeValues: { ":m": markedAt },
        }),
      )
      .catch((e: unknown) => {
        if (!isConditionFailure(e)) throw e;
      });
  }

  // Typed by the port, so the parameters are declared once (shared/ports/storage.ts).
  readonly writeReportChunks: PeriodStore["writeReportChunks"] = (accountId, period, owner, chunks, keep) =>
    writeReportChunks(
      this.doc,
      this.table,
      this.claimCheck(accountId, period, owner),
      accountId,
      period,
      chunks,
      keep,
    );

  /** A transaction's check that `owner` still holds the account-period's "closing" claim. */
  private claimCheck(accountId: string, period: PeriodId, owner: string) {
    return { ConditionCheck: { TableName: this.table, Key: closeKey(accountId, period), ...heldBy(owner) } };
  }

  readReportChunk(accountId: string, period: PeriodId, list: string, chunk: number) {
    return readReportChunk(this.doc, this.table, accountId, period, list, chunk);
  }

  // ---- ExplanationStore: explanations.ts ----
  explanation(lineId: string): Promise<LineExplanation | undefined> {
    return readExplanation(this.doc, this.table, lineId);
  }

  async linesForReference(accountId: string, referencePeriod: PeriodId): Promise<InvoiceLine[]> {
    const items = await this.queryAll({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": billedKey(accountId), ":p": `LINE#${referencePeriod}#` },
      ConsistentRead: true,
    });
    return items.flatMap(linesOfItem);
  }

  // ---- DeadLetterStore ----
  /**
   * The letter and its entry in the account index in one transaction; a letter replaced (an
   * SQS re-delivery of the same message) moves its index entry. The transaction's condition is the
   * letter as it was read, so two concurrent puts of one letter never leave two index entries.
   */
  async put(letter: DeadLetter): Promise<void> {
    // In a burst the entry goes to a burst key, which the letter names (`ix`) for its removal.
    const ix = letter.subject === undefined ? undefined : await this.burstIndexFor(letter, letter.subject);
    // The excerpt is the body when the body is kept inline: stored once.
    const { excerpt, ...rest } = letter;
    const Item = {
      ...letterKey(letter.deadLetterId),
      ...rest,
      ...(letter.body === undefined ? { excerpt } : {}),
      ...(ix ? { ix } : {}),
    };
    const index = letterIndexKey(Item);
    await this.transactOnLetter(letterKey(letter.deadLetterId), (old) => {
      const oldIndex = old && letterIndexKey(old);
      const moved = oldIndex && (!index || oldIndex.pk !== index.pk || oldIndex.sk !== index.sk);
      return [
        {
          Put: {
            TableName: this.table,
            Item,
            ...(old
              ? {
                  ConditionExpression: "receivedAt = :r",
                  ExpressionAttributeValues: { ":r": old.receivedAt },
                }
              : { ConditionExpression: "attribute_not_exists(pk)" }),
          },
        },
        ...(index
          ? [
              {
                Put: {
                  TableName: this.table,
                  Item: {
                    ...index,
                    deadLetterId: letter.deadLetterId,
                    messageId: letter.messageId,
                    receivedAt: letter.receivedAt,
                    reason: letter.reason,
                  },
                },
              },
            ]
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
      marker = this.doc
        .send(
          new PutCommand({
            TableName: this.table,
            Item: {
              ...burstMarkerKey(subject, letter.receivedAt),
              burst: true,
              receivedAt: letter.receivedAt,
            },
          }),
        )
        .then(() => undefined);
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
    key: { pk: string; sk: string },
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
  private async letterKeys(key: { pk: string; sk: string }): Promise<StoredLetterKeys | undefined> {
    const r = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: key,
        ProjectionExpression: "deadLetterId, subject, receivedAt, ix",
        ConsistentRead: true,
      }),
    );
    return r.Item as StoredLetterKeys | undefined;
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
    const range = (pk: string, page?: { Limit?: number }) => ({
      // [from, until): "<until>" sorts before every "<until>#<id>".
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :until",
      ExpressionAttributeValues: {
        ":pk": pk,
        ":from": String(received.from).padStart(15, "0"),
        ":until": String(received.until).padStart(15, "0"),
      },
      ConsistentRead: true,
      ...page,
    });
    const own = letterIndexPk(accountId);
    const first = await this.doc.send(new QueryCommand({ TableName: this.table, ...range(own) }));
    const firstItems = first.Items ?? [];
    let entries: AsyncIterable<Record<string, unknown>>;
    if (!first.LastEvaluatedKey && !firstItems.some((i) => i.burst === true)) entries = listOf(firstItems);
    else {
      const marked = await this.queryAll({
        ...range(own),
        FilterExpression: "attribute_exists(burst)",
        ProjectionExpression: "pk",
      });
      const pks = marked.length > 0 ? [own, ...burstIndexPks(accountId)] : [own];
      entries = mergeByKey(
        pks.map((pk) => queryItems(this.doc, this.table, range(pk))),
        (i) => String(i.sk),
      );
    }
    for await (const i of entries)
      if (i.burst !== true)
        yield {
          deadLetterId: String(i.deadLetterId),
          messageId: String(i.messageId),
          receivedAt: Number(i.receivedAt),
          reason: String(i.reason),
        };
  }

  /**
   * Every letter, oldest first (receivedAt, then id): every shard read (16 at a time), and the
   * letters still under the partition from before sharding moved to their shard on the way.
   */
  async list(): Promise<DeadLetter[]> {
    const read = (pk: string) =>
      this.queryAll({
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk },
        ConsistentRead: true,
      });
    const [legacy = [], ...shards] = await mapLimit([LEGACY_LETTER_PK, ...letterShardPks()], 16, read);
    const byId = new Map<string, Record<string, unknown>>();
    for (const i of shards.flat()) byId.set(String(i.deadLetterId), i);
    for (const i of legacy) {
      const id = String(i.deadLetterId);
      // A letter put again since (an SQS re-delivery) replaces the one from before sharding.
      if (!byId.has(id)) byId.set(id, i);
      await this.migrateLetter(i);
    }
    const letters = [...byId.values()].map((i): DeadLetter => {
      const body = i.body !== undefined ? String(i.body) : undefined;
      return {
        deadLetterId: String(i.deadLetterId),
        messageId: String(i.messageId),
        receivedAt: Number(i.receivedAt),
        reason: String(i.reason),
        ...(i.subject !== undefined ? { subject: String(i.subject) } : {}),
        ...(i.event !== null && typeof i.event === "object" ? { event: eventReference(i.event) } : {}),
        excerpt: i.excerpt !== undefined ? String(i.excerpt) : (body ?? ""),
        bodyBytes: Number(i.bodyBytes ?? (body !== undefined ? Buffer.byteLength(body) : 0)),
        bodySha256: String(i.bodySha256 ?? ""),
        ...(body !== undefined ? { body } : {}),
        ...(i.bodyKey !== undefined ? { bodyKey: String(i.bodyKey) } : {}),
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
  private async migrateLetter(item: Record<string, unknown>): Promise<void> {
    const id = String(item.deadLetterId);
    const dropOld: TransactItem = {
      Delete: {
        TableName: this.table,
        Key: legacyLetterKey(id),
        ConditionExpression: "receivedAt = :r",
        ExpressionAttributeValues: { ":r": item.receivedAt },
      },
    };
    const oldIndex = letterIndexKey(item);
    try {
      await this.transactOnLetter(letterKey(id), (current) => {
        if (!current)
          return [
            dropOld,
            {
              Put: {
                TableName: this.table,
                Item: { ...item, ...letterKey(id) },
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
    const removeAt = (key: { pk: string; sk: string }) =>
      this.transactOnLetter(key, (old) => {
        if (!old) return undefined; // not (or no longer) there
        const index = letterIndexKey(old);
        return [
          {
            Delete: {
              TableName: this.table,
              Key: key,
              ConditionExpression: "receivedAt = :r",
              ExpressionAttributeValues: { ":r": old.receivedAt },
            },
          },
          ...(index ? [{ Delete: { TableName: this.table, Key: index } }] : []),
        ];
      });
    if (!(await removeAt(letterKey(deadLetterId)))) await removeAt(legacyLetterKey(deadLetterId));
  }

  // ---- ConfigStore: one item per account and per tariff (config-store.ts) ----
  loadConfig(): Promise<BillingConfig> {
    return this.configs.loadConfig();
  }

  /** `at`: the load's time, from which the changed accounts' new versions are in force (contract §2). */
  saveConfig(config: BillingConfig, at?: number): Promise<void> {
    return this.configs.saveConfig(config, at);
  }
}

/** A stored letter's event reference: its string attributes only. */
function eventReference(stored: object): EventReference {
  return Object.fromEntries(
    Object.entries(stored).filter(
      ([k, v]) => ["source", "id", "type", "subject"].includes(k) && typeof v === "string",
    ),
  ) as EventReference;
}

/** A close record as stored (document client item). */
export function toClose(i: Record<string, unknown>): CloseRecord {
  return {
    accountId: String(i.accountId),
    period: String(i.period),
    status: i.status === "closed" ? "closed" : "closing",
    startedAt: Number(i.startedAt),
    ...(i.owner !== undefined ? { owner: String(i.owner) } : {}),
    ...(i.leaseUntil !== undefined ? { leaseUntil: Number(i.leaseUntil) } : {}),
    ...(i.closedAt !== undefined ? { closedAt: Number(i.closedAt) } : {}),
    ...(i.report !== undefined ? { report: JSON.parse(String(i.report)) } : {}),
  };
}

async function* listOf<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

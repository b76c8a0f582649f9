/**
 * The period index in the billing table (its items: items/period-index.ts). The entry is put in the
 * transaction that marks the close record closed (billing-table.ts finishClose). A period's accounts
 * are 16 Queries, whatever else the table holds. `changes` counts the exports recorded for the
 * period (ADD 1 after each entry's objects are noted), `manifested` the count its manifest was last
 * written at: the close scheduler rewrites the manifests where they differ.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { PeriodId } from "../../core/time.js";
import type { KeyedPeriodIndexEntry, PeriodIndexEntry } from "../../ports/period-index.js";
import {
  PERIOD_INDEX_SHARDS,
  PERIOD_LIST_PK,
  periodIndexItem,
  periodListItem,
  periodShardPk,
} from "./items/period-index.js";
import { queryAll } from "./paginate.js";

/** The entry as a transaction's Put (finishClose), with the reference periods the close adjusted. */
export const periodIndexPut = (
  table: string,
  accountId: string,
  period: PeriodId,
  closedAt: number,
  references: readonly PeriodId[],
) => ({
  Put: {
    TableName: table,
    Item: periodIndexItem.item({ accountId, period, closedAt, references: [...references] }),
  },
});

/**
 * Notes that the period has closes (idempotent; before the close's transaction, outside it: no
 * contention); `changed`: one more export recorded, so its manifest is due. An update, never a put:
 * the counts on the item survive.
 */
export async function notePeriod(
  doc: DynamoDBDocumentClient,
  table: string,
  period: PeriodId,
  opts: { changed?: boolean } = {},
): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: table,
      Key: periodListItem.key({ period }),
      UpdateExpression: `SET ${periodListItem.assign("period")}${opts.changed ? " ADD #changes :one" : ""}`,
      ExpressionAttributeNames: periodListItem.names(
        "period",
        ...(opts.changed ? (["changes"] as const) : []),
      ),
      ExpressionAttributeValues: {
        ...periodListItem.values({ period }),
        ...(opts.changed ? { ":one": 1 } : {}),
      },
    }),
  );
}

const toEntry = (i: Record<string, unknown>): PeriodIndexEntry => periodIndexItem.decode(i);

export async function closedAccounts(
  doc: DynamoDBDocumentClient,
  table: string,
  period: PeriodId,
): Promise<PeriodIndexEntry[]> {
  const shards = await Promise.all(
    Array.from({ length: PERIOD_INDEX_SHARDS }, (_, s) =>
      queryAll(doc, table, {
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": periodShardPk(period, s) },
        ConsistentRead: true,
      }),
    ),
  );
  return shards
    .flat()
    .map(toEntry)
    .sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
}

/** Entries read by a shard's first Query of a walk; each further Query reads twice the last, up to 100. */
const FIRST_READ = 4;
const MAX_READ = 100;

/**
 * One shard's entries from `from` on, read a Query at a time as they are taken: what a walk reads
 * from a shard is what it takes from it plus at most one Query's worth ahead.
 */
class ShardReader {
  private buffer: KeyedPeriodIndexEntry[] = [];
  private next: Record<string, unknown> | undefined;
  private done = false;
  private limit = FIRST_READ;
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly pk: string,
    private readonly from: string | undefined,
  ) {}

  get head(): KeyedPeriodIndexEntry | undefined {
    return this.buffer[0];
  }

  take(): KeyedPeriodIndexEntry | undefined {
    return this.buffer.shift();
  }

  /** Reads the next Query when the buffer is empty and the shard has more; true when it holds an entry. */
  async fill(): Promise<boolean> {
    while (this.buffer.length === 0 && !this.done) {
      const r = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: this.from === undefined ? "pk = :pk" : "pk = :pk AND sk >= :from",
          ExpressionAttributeValues: {
            ":pk": this.pk,
            ...(this.from === undefined ? {} : { ":from": this.from }),
          },
          ConsistentRead: true,
          Limit: this.limit,
          ...(this.next ? { ExclusiveStartKey: this.next } : {}),
        }),
      );
      this.buffer = (r.Items ?? []).map((i) => ({ ...toEntry(i), key: String(i.sk) }));
      this.next = r.LastEvaluatedKey;
      this.done = this.next === undefined;
      this.limit = Math.min(MAX_READ, this.limit * 2);
    }
    return this.buffer.length > 0;
  }
}

/**
 * DynamoDB's order of string sort keys (UTF-8 bytes), which `sk >= :from` resumes in: the merge
 * must agree with it, or a resumed walk could repeat or skip an entry (it differs from code-unit
 * order only past U+FFFF).
 */
const keyOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * The period's entries in key order (the account id, or its hash past 1,000 bytes) from the key
 * `from` on: the 16 shards merged as they are read, each shard read lazily. A walk that stops after
 * n entries has read about n entries plus a constant (16 small Queries and one Query ahead per shard),
 * whatever the period's size.
 */
export async function* closedAccountsFrom(
  doc: DynamoDBDocumentClient,
  table: string,
  period: PeriodId,
  from: string | undefined,
): AsyncGenerator<KeyedPeriodIndexEntry> {
  const shards = Array.from(
    { length: PERIOD_INDEX_SHARDS },
    (_, s) => new ShardReader(doc, table, periodShardPk(period, s), from),
  );
  await Promise.all(shards.map((s) => s.fill()));
  for (;;) {
    let first: ShardReader | undefined;
    for (const s of shards) {
      const h = s.head;
      if (h && (!first || keyOrder(h.key, (first.head as KeyedPeriodIndexEntry).key) < 0)) first = s;
    }
    if (!first) return;
    yield first.take() as KeyedPeriodIndexEntry;
    await first.fill();
  }
}

export async function closedAccount(
  doc: DynamoDBDocumentClient,
  table: string,
  accountId: string,
  period: PeriodId,
): Promise<PeriodIndexEntry | undefined> {
  const r = await doc.send(
    new GetCommand({
      TableName: table,
      Key: periodIndexItem.key({ accountId, period }),
      ConsistentRead: true,
    }),
  );
  return r.Item ? toEntry(r.Item) : undefined;
}

/**
 * Records the exported objects on the entry. Creates the entry when missing (a period closed before
 * the index existed, repaired by a later close run), with the close record's closedAt.
 */
export async function markExported(
  doc: DynamoDBDocumentClient,
  table: string,
  entry: Required<Omit<PeriodIndexEntry, "references">>,
): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: table,
      Key: periodIndexItem.key(entry),
      UpdateExpression: `SET ${periodIndexItem.assign("accountId", "period", "closedAt", "exports")}`,
      ExpressionAttributeNames: periodIndexItem.names("accountId", "period", "closedAt", "exports"),
      ExpressionAttributeValues: periodIndexItem.values({
        accountId: entry.accountId,
        period: entry.period,
        closedAt: entry.closedAt,
        exports: entry.exports,
      }),
    }),
  );
}

const periodList = (doc: DynamoDBDocumentClient, table: string) =>
  queryAll(doc, table, {
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": PERIOD_LIST_PK },
    ConsistentRead: true,
  });

export async function closedPeriods(doc: DynamoDBDocumentClient, table: string): Promise<PeriodId[]> {
  return (await periodList(doc, table)).map((i) => String(i.sk)).sort();
}

/** The periods whose exports changed since their manifest was written (one Query: a row per period). */
export async function periodsToManifest(
  doc: DynamoDBDocumentClient,
  table: string,
): Promise<{ period: PeriodId; changes: number }[]> {
  return (await periodList(doc, table))
    .map((i) => ({ ...periodListItem.decode(i), period: String(i.sk) }))
    .filter((p) => p.changes > p.manifested)
    .map(({ period, changes }) => ({ period, changes }))
    .sort((a, b) => (a.period < b.period ? -1 : 1));
}

/** Records that the manifest reflects `changes` exports (never moves back: a slower run loses). */
export async function markManifested(
  doc: DynamoDBDocumentClient,
  table: string,
  period: PeriodId,
  changes: number,
): Promise<void> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: table,
        Key: periodListItem.key({ period }),
        UpdateExpression: `SET #manifested = :manifested`,
        ConditionExpression: "attribute_not_exists(#manifested) OR #manifested < :manifested",
        ExpressionAttributeNames: periodListItem.names("manifested"),
        ExpressionAttributeValues: periodListItem.values({ manifested: changes }),
      }),
    );
  } catch (e) {
    if (!(e instanceof ConditionalCheckFailedException)) throw e;
  }
}

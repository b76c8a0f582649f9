/**
 * The period index (docs/decisions.md D25) in the billing table:
 *
 * | item                 | pk                          | sk                  | attributes                         |
 * |----------------------|-----------------------------|---------------------|------------------------------------|
 * | account closed in P  | PERIOD#<period>#<shard 0-15>| <accountId>         | accountId, period, closedAt, exports |
 * | period with closes   | PERIOD#LIST                 | <period>            | period, changes, manifested        |
 *
 * The shard is a hash of the account id, so a period's entries spread over 16 partition keys; the
 * entry is put in the transaction that marks the close record closed (billing-table.ts finishClose).
 * A period's accounts are 16 Queries, whatever else the table holds. `changes` counts the exports
 * recorded for the period (ADD 1 after each entry's objects are noted), `manifested` the count its
 * manifest was last written at: the close scheduler rewrites the manifests where they differ (D25).
 */
import { createHash } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { AccountExports } from "../../core/period-exports.js";
import type { PeriodId } from "../../core/time.js";
import type { PeriodIndexEntry } from "../../ports/period-index.js";
import { queryAll } from "./paginate.js";

export const PERIOD_INDEX_SHARDS = 16;
const PERIOD_LIST = "PERIOD#LIST";

const shardOf = (accountId: string) =>
  (createHash("sha256").update(accountId).digest()[0] as number) % PERIOD_INDEX_SHARDS;

/** An account id over 1,000 bytes is keyed by its SHA-256 (a sort key is at most 1,024 bytes). */
export const periodIndexKey = (accountId: string, period: PeriodId) => ({
  pk: `PERIOD#${period}#${shardOf(accountId)}`,
  sk:
    Buffer.byteLength(accountId) <= 1000
      ? accountId
      : `sha256:${createHash("sha256").update(accountId).digest("hex")}`,
});

/** The entry as a transaction's Put (finishClose). */
export const periodIndexPut = (table: string, accountId: string, period: PeriodId, closedAt: number) => ({
  Put: { TableName: table, Item: { ...periodIndexKey(accountId, period), accountId, period, closedAt } },
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
      Key: { pk: PERIOD_LIST, sk: period },
      UpdateExpression: opts.changed ? "SET #p = :p ADD changes :one" : "SET #p = :p",
      ExpressionAttributeNames: { "#p": "period" },
      ExpressionAttributeValues: { ":p": period, ...(opts.changed ? { ":one": 1 } : {}) },
    }),
  );
}

const toEntry = (i: Record<string, unknown>): PeriodIndexEntry => ({
  accountId: String(i.accountId),
  period: String(i.period),
  closedAt: Number(i.closedAt),
  ...(i.exports !== undefined ? { exports: i.exports as AccountExports } : {}),
});

export async function closedAccounts(
  doc: DynamoDBDocumentClient,
  table: string,
  period: PeriodId,
): Promise<PeriodIndexEntry[]> {
  const shards = await Promise.all(
    Array.from({ length: PERIOD_INDEX_SHARDS }, (_, s) =>
      queryAll(doc, table, {
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": `PERIOD#${period}#${s}` },
        ConsistentRead: true,
      }),
    ),
  );
  return shards
    .flat()
    .map(toEntry)
    .sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
}

export async function closedAccount(
  doc: DynamoDBDocumentClient,
  table: string,
  accountId: string,
  period: PeriodId,
): Promise<PeriodIndexEntry | undefined> {
  const r = await doc.send(
    new GetCommand({ TableName: table, Key: periodIndexKey(accountId, period), ConsistentRead: true }),
  );
  return r.Item ? toEntry(r.Item) : undefined;
}

/**
 * Records the exported objects on the entry. Creates the entry when missing (a period closed before
 * the index existed, repaired by a later close run: D25), with the close record's closedAt.
 */
export async function markExported(
  doc: DynamoDBDocumentClient,
  table: string,
  entry: Required<PeriodIndexEntry>,
): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: table,
      Key: periodIndexKey(entry.accountId, entry.period),
      UpdateExpression: "SET accountId = :a, #p = :p, closedAt = :c, #e = :e",
      ExpressionAttributeNames: { "#p": "period", "#e": "exports" },
      ExpressionAttributeValues: {
        ":a": entry.accountId,
        ":p": entry.period,
        ":c": entry.closedAt,
        ":e": entry.exports,
      },
    }),
  );
}

const periodList = (doc: DynamoDBDocumentClient, table: string) =>
  queryAll(doc, table, {
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": PERIOD_LIST },
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
    .map((i) => ({
      period: String(i.sk),
      changes: Number(i.changes ?? 0),
      manifested: Number(i.manifested ?? 0),
    }))
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
        Key: { pk: PERIOD_LIST, sk: period },
        UpdateExpression: "SET manifested = :c",
        ConditionExpression: "attribute_not_exists(manifested) OR manifested < :c",
        ExpressionAttributeValues: { ":c": changes },
      }),
    );
  } catch (e) {
    if (!(e instanceof ConditionalCheckFailedException)) throw e;
  }
}

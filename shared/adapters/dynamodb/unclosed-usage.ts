/**
 * Accounts with usage not yet closed, by period (shared/ports/unclosed-usage.ts):
 *
 * | item             | pk                              | sk          | attributes               |
 * |------------------|---------------------------------|-------------|--------------------------|
 * | unclosed usage   | UNCLOSED#<period>#<shard 0-15>  | <accountId> | accountId, period, end   |
 *
 * Written once per account-period (usage-store.ts markUsage: when the period's usage marker has not
 * recorded it yet, flag `ix`), deleted by the close. The shard is the period index's hash of the
 * account id, so a period's entries spread over 16 partition keys: at the start of a month, when
 * every account's first event of it arrives, the writes are spread over 16 keys and each account
 * writes once. A period's list is 16 Queries bounded by the accounts not closed for it.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type PeriodId, periodWindow } from "../../core/time.js";
import type { UnclosedUsage, UnclosedUsageIndex } from "../../ports/unclosed-usage.js";
import { accountShard, accountSortKey } from "./account-shards.js";
import { queryAll } from "./paginate.js";

export const UNCLOSED_SHARDS = 16;

export const unclosedKey = (accountId: string, period: PeriodId) => ({
  pk: `UNCLOSED#${period}#${accountShard(accountId, UNCLOSED_SHARDS)}`,
  sk: accountSortKey(accountId),
});

/** Enters the account-period (idempotent put): before the usage marker records `ix`. */
export async function putUnclosedUsage(doc: DynamoDBDocumentClient, table: string, u: UnclosedUsage) {
  await doc.send(new PutCommand({ TableName: table, Item: { ...unclosedKey(u.accountId, u.period), ...u } }));
}

export class DynamoUnclosedUsageIndex implements UnclosedUsageIndex {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  async unclosedUsage(period: PeriodId): Promise<UnclosedUsage[]> {
    const shards = await Promise.all(
      Array.from({ length: UNCLOSED_SHARDS }, (_, s) =>
        queryAll(this.doc, this.table, {
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": `UNCLOSED#${period}#${s}` },
          ConsistentRead: true,
        }),
      ),
    );
    return shards
      .flat()
      .map((i) => ({
        accountId: String(i.accountId),
        period: String(i.period),
        end: Number(i.end),
        ...(i.suspended !== undefined
          ? { suspended: { reason: String(i.suspended), at: Number(i.suspendedAt) } }
          : {}),
      }))
      .sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
  }

  async suspendClose(accountId: string, period: PeriodId, reason: string, at: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: unclosedKey(accountId, period),
        // A request without usage behind it (no entry): the period's latest end in any zone (UTC−12).
        UpdateExpression:
          "SET accountId = :a, period = :p, #end = if_not_exists(#end, :end), suspended = :r, suspendedAt = if_not_exists(suspendedAt, :at)",
        ExpressionAttributeNames: { "#end": "end" },
        ExpressionAttributeValues: {
          ":a": accountId,
          ":p": period,
          ":end": periodWindow(period, "Etc/GMT+12").end,
          ":at": at,
          ":r": reason.slice(0, 1000),
        },
      }),
    );
  }

  async adjustmentDue(accountId: string, period: PeriodId, end: number): Promise<void> {
    // A conditional put (ingest may put, not update, these keys): an entry there already keeps its
    // end and any suspension; a re-delivery of the late event changes nothing.
    await this.doc
      .send(
        new PutCommand({
          TableName: this.table,
          Item: { ...unclosedKey(accountId, period), accountId, period, end },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      )
      .catch((e: unknown) => {
        if ((e as { name?: string }).name !== "ConditionalCheckFailedException") throw e;
      });
  }

  async usageClosed(accountId: string, period: PeriodId): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: unclosedKey(accountId, period) }));
  }
}

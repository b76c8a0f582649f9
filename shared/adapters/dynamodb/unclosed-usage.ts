/**
 * Accounts with usage not yet closed, by period (shared/ports/unclosed-usage.ts); the item:
 * items/unclosed-usage.ts.
 *
 * Written on an account-period's first mark (usage/markers.ts markUsage, before the usage marker
 * records it, flag `ix`), deleted by the close. The shard is the period index's hash of the
 * account id, so a period's entries spread over 16 partition keys: at the start of a month, when
 * every account's first event of it arrives, the writes are spread over 16 keys and each account
 * writes once. A period's list is 16 Queries bounded by the accounts not closed for it.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type PeriodId, periodWindow } from "../../core/time.js";
import type { UnclosedUsage, UnclosedUsageIndex } from "../../ports/unclosed-usage.js";
import { UNCLOSED_SHARDS, unclosedItem, unclosedShardPk } from "./items/unclosed-usage.js";
import { isConditionFailure, queryAll } from "./paginate.js";

const itemOf = (u: UnclosedUsage) =>
  unclosedItem.item({
    accountId: u.accountId,
    period: u.period,
    end: u.end,
    suspended: u.suspended?.reason,
    suspendedAt: u.suspended?.at,
  });

/**
 * Enters the account-period unless it is there: an entry there already (usage, a suspension) keeps
 * its end and any suspension. A conditional put: ingest may put, not update, these keys.
 */
export async function putUnclosedIfAbsent(doc: DynamoDBDocumentClient, table: string, u: UnclosedUsage) {
  await doc
    .send(
      new PutCommand({ TableName: table, Item: itemOf(u), ConditionExpression: "attribute_not_exists(pk)" }),
    )
    .catch((e: unknown) => {
      if (!isConditionFailure(e)) throw e;
    });
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
          ExpressionAttributeValues: { ":pk": unclosedShardPk(period, s) },
          ConsistentRead: true,
        }),
      ),
    );
    return shards
      .flat()
      .map((i) => {
        const { suspended, suspendedAt, ...u } = unclosedItem.decode(i);
        return {
          ...u,
          ...(suspended !== undefined ? { suspended: { reason: suspended, at: Number(suspendedAt) } } : {}),
        };
      })
      .sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
  }

  async suspendClose(accountId: string, period: PeriodId, reason: string, at: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: unclosedItem.key({ accountId, period }),
        // A request without usage behind it (no entry): the period's latest end in any zone (UTC−12).
        UpdateExpression: `SET ${unclosedItem.assign("accountId", "period")}, #end = if_not_exists(#end, :end), ${unclosedItem.assign("suspended")}, #suspendedAt = if_not_exists(#suspendedAt, :suspendedAt)`,
        ExpressionAttributeNames: unclosedItem.names(
          "accountId",
          "period",
          "end",
          "suspended",
          "suspendedAt",
        ),
        ExpressionAttributeValues: unclosedItem.values({
          accountId,
          period,
          end: periodWindow(period, "Etc/GMT+12").end,
          suspendedAt: at,
          suspended: reason.slice(0, 1000),
        }),
      }),
    );
  }

  async adjustmentDue(accountId: string, period: PeriodId, end: number): Promise<void> {
    // A re-delivery of the late event changes nothing.
    await putUnclosedIfAbsent(this.doc, this.table, { accountId, period, end });
  }

  async usageClosed(accountId: string, period: PeriodId): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.table, Key: unclosedItem.key({ accountId, period }) }),
    );
  }
}

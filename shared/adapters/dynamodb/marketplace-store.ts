/**
 * MarketplaceStore on the single billing table; its items (a reporting watermark and one usage
 * record per account, dimension and hour): items/marketplace.ts. A usage record is created once
 * (conditional put): the same account, dimension and hour can never be reported twice, even by two
 * overlapping runs.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type QueryCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { compareStrings } from "../../core/compare.js";
import { hourIso } from "../../core/marketplace/usage.js";
import type {
  AcceptedMarketplaceUsage,
  MarketplaceStore,
  MarketplaceUsageRecord,
  MarketplaceWatermark,
  UsageRecordUpdate,
} from "../../ports/marketplace.js";
import {
  marketplacePk,
  USAGE_RECORD_PREFIX,
  usageRecordItem,
  usageRecordsFrom,
  usageRecordsTo,
  watermarkItem,
} from "./items/marketplace.js";
import { isConditionFailure, queryAll } from "./paginate.js";

export class DynamoMarketplaceStore implements MarketplaceStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    /** The table's client and name, for diagnostics over the same table (test/support/table-scans.ts). */
    readonly client: DynamoDBClient,
    readonly table: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async getWatermark(accountId: string): Promise<MarketplaceWatermark | undefined> {
    const r = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: watermarkItem.key({ accountId }),
        ConsistentRead: true,
      }),
    );
    if (!r.Item) return undefined;
    const { lastHour, firstHour } = watermarkItem.decode(r.Item);
    return { lastHour, firstHour };
  }

  async advanceWatermark(accountId: string, watermark: MarketplaceWatermark): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: watermarkItem.key({ accountId }),
          UpdateExpression: `SET ${watermarkItem.assign("lastHour", "lastHourIso", "accountId")}, #firstHour = if_not_exists(#firstHour, :firstHour)`,
          ConditionExpression: "attribute_not_exists(#lastHour) OR #lastHour < :lastHour",
          ExpressionAttributeNames: watermarkItem.names("lastHour", "lastHourIso", "firstHour", "accountId"),
          ExpressionAttributeValues: watermarkItem.values({
            lastHour: watermark.lastHour,
            lastHourIso: hourIso(watermark.lastHour),
            firstHour: watermark.firstHour,
            accountId,
          }),
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e; // already at or past it: never moves back
    }
  }

  async createUsageRecord(record: MarketplaceUsageRecord): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: usageRecordItem.item(record),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async updateUsageRecord(
    accountId: string,
    dimension: string,
    hour: number,
    update: UsageRecordUpdate,
  ): Promise<void> {
    const Key = usageRecordItem.key({ accountId, dimension, hour });
    // An answered record never changes (the first answer is the Marketplace's truth).
    const pending = { ConditionExpression: "#status = :pending" };
    try {
      if (update.kind === "answered") {
        const fields = {
          status: update.status,
          marketplaceStatus: update.marketplaceStatus,
          updatedAt: update.at,
          acceptedQuantity: update.acceptedQuantity,
          usageEventId: update.usageEventId,
          reason: update.reason,
        };
        const set = (Object.keys(fields) as (keyof typeof fields)[]).filter((f) => fields[f] !== undefined);
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key,
            UpdateExpression: `SET ${usageRecordItem.assign(...set)}`,
            ...pending,
            ExpressionAttributeNames: usageRecordItem.names(...set),
            ExpressionAttributeValues: { ...usageRecordItem.values(fields), ":pending": "pending" },
          }),
        );
      } else {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key,
            UpdateExpression: `SET #failedAttempts = #failedAttempts + :one, ${usageRecordItem.assign("lastError", "updatedAt")}`,
            ...pending,
            ExpressionAttributeNames: usageRecordItem.names(
              "status",
              "failedAttempts",
              "lastError",
              "updatedAt",
            ),
            ExpressionAttributeValues: {
              ...usageRecordItem.values({ lastError: update.error, updatedAt: update.at }),
              ":one": 1,
              ":pending": "pending",
            },
          }),
        );
      }
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  private queryAll(input: Omit<QueryCommandInput, "TableName">) {
    return queryAll(this.doc, this.table, input);
  }

  async usageRecords(
    accountId: string,
    opts: { readonly fromHour?: number; readonly dimensions?: readonly string[] } = {},
  ): Promise<MarketplaceUsageRecord[]> {
    const items: Record<string, unknown>[] = [];
    if (opts.dimensions) {
      for (const dimension of [...new Set(opts.dimensions)]) {
        const from =
          opts.fromHour !== undefined
            ? usageRecordItem.key({ accountId, dimension, hour: opts.fromHour }).sk
            : usageRecordsFrom(dimension);
        items.push(
          ...(await this.queryAll({
            KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
            ExpressionAttributeValues: {
              ":pk": marketplacePk(accountId),
              ":from": from,
              ":to": usageRecordsTo(dimension),
            },
            ConsistentRead: true,
          })),
        );
      }
    } else {
      items.push(
        ...(await this.queryAll({
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
          ExpressionAttributeValues: { ":pk": marketplacePk(accountId), ":p": USAGE_RECORD_PREFIX },
          ConsistentRead: true,
        })),
      );
    }
    const wanted = opts.dimensions ? new Set(opts.dimensions) : undefined;
    return items
      .map(usageRecordItem.decode)
      .filter(
        (r) =>
          (!wanted || wanted.has(r.dimension)) && (opts.fromHour === undefined || r.hour >= opts.fromHour),
      )
      .sort((a, b) => a.hour - b.hour || compareStrings(a.dimension, b.dimension));
  }
}

/** The accepted records among these, as the export lists them (by hour, account, dimension). */
export function acceptedUsageOf(records: readonly MarketplaceUsageRecord[]): AcceptedMarketplaceUsage[] {
  return records
    .filter((r) => r.status === "accepted")
    .sort(
      (a, b) =>
        a.hour - b.hour ||
        (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0) ||
        (a.dimension < b.dimension ? -1 : a.dimension > b.dimension ? 1 : 0),
    )
    .map((r) => ({
      accountId: r.accountId,
      resourceId: r.resourceId,
      planId: r.planId,
      dimension: r.dimension,
      quantity: Number(r.acceptedQuantity ?? r.quantity),
      effectiveStartTime: r.effectiveStartTime,
      ...(r.usageEventId !== undefined ? { usageEventId: r.usageEventId } : {}),
    }));
}

/**
 * MarketplaceStore on the single billing table (billing-table.ts):
 *
 * | item                 | pk              | sk                              |
 * |----------------------|-----------------|---------------------------------|
 * | reporting watermark  | MKT#<account>   | WATERMARK                       |
 * | usage record         | MKT#<account>   | USAGE#<dimension>#<hour ISO>    |
 *
 * The hour ISO (`2025-07-02T10:00:00Z`) sorts in time order, so one dimension's records from an
 * hour on are one range query. A usage record is created once (conditional put): the same account,
 * dimension and hour can never be reported twice, even by two overlapping runs.
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
  UsageRecordStatus,
  UsageRecordUpdate,
} from "../../ports/marketplace.js";
import { isConditionFailure, queryAll } from "./paginate.js";

const pk = (accountId: string) => `MKT#${accountId}`;
const usageSk = (dimension: string, hour: number) => `USAGE#${dimension}#${hourIso(hour)}`;

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
        Key: { pk: pk(accountId), sk: "WATERMARK" },
        ConsistentRead: true,
      }),
    );
    if (!r.Item) return undefined;
    return { lastHour: Number(r.Item.lastHour), firstHour: Number(r.Item.firstHour) };
  }

  async advanceWatermark(accountId: string, watermark: MarketplaceWatermark): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(accountId), sk: "WATERMARK" },
          UpdateExpression:
            "SET lastHour = :h, lastHourIso = :iso, firstHour = if_not_exists(firstHour, :f), accountId = :a",
          ConditionExpression: "attribute_not_exists(lastHour) OR lastHour < :h",
          ExpressionAttributeValues: {
            ":h": watermark.lastHour,
            ":iso": hourIso(watermark.lastHour),
            ":f": watermark.firstHour,
            ":a": accountId,
          },
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
          Item: { pk: pk(record.accountId), sk: usageSk(record.dimension, record.hour), ...record },
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
    const Key = { pk: pk(accountId), sk: usageSk(dimension, hour) };
    try {
      if (update.kind === "answered") {
        const values: Record<string, unknown> = {
          ":s": update.status,
          ":ms": update.marketplaceStatus,
          ":at": update.at,
          ":pending": "pending",
        };
        const sets = ["#s = :s", "marketplaceStatus = :ms", "updatedAt = :at"];
        const optional = {
          acceptedQuantity: update.acceptedQuantity,
          usageEventId: update.usageEventId,
          reason: update.reason,
        };
        for (const [name, value] of Object.entries(optional)) {
          if (value === undefined) continue;
          sets.push(`${name} = :${name}`);
          values[`:${name}`] = value;
        }
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key,
            UpdateExpression: `SET ${sets.join(", ")}`,
            // An answered record never changes (the first answer is the Marketplace's truth).
            ConditionExpression: "#s = :pending",
            ExpressionAttributeNames: { "#s": "status" },
            ExpressionAttributeValues: values,
          }),
        );
      } else {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key,
            UpdateExpression: "SET failedAttempts = failedAttempts + :one, lastError = :e, updatedAt = :at",
            ConditionExpression: "#s = :pending",
            ExpressionAttributeNames: { "#s": "status" },
            ExpressionAttributeValues: {
              ":one": 1,
              ":e": update.error,
              ":at": update.at,
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
        const from = opts.fromHour !== undefined ? usageSk(dimension, opts.fromHour) : `USAGE#${dimension}#`;
        items.push(
          ...(await this.queryAll({
            // "$" sorts right after "#": the end of this dimension's hours.
            KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
            ExpressionAttributeValues: { ":pk": pk(accountId), ":from": from, ":to": `USAGE#${dimension}$` },
            ConsistentRead: true,
          })),
        );
      }
    } else {
      items.push(
        ...(await this.queryAll({
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
          ExpressionAttributeValues: { ":pk": pk(accountId), ":p": "USAGE#" },
          ConsistentRead: true,
        })),
      );
    }
    const wanted = opts.dimensions ? new Set(opts.dimensions) : undefined;
    return items
      .map(toRecord)
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

/** A usage record as stored (document client item). */
export function toRecord(i: Record<string, unknown>): MarketplaceUsageRecord {
  const opt = (name: string) => (i[name] !== undefined ? { [name]: String(i[name]) } : {});
  return {
    accountId: String(i.accountId),
    resourceId: String(i.resourceId),
    planId: String(i.planId),
    dimension: String(i.dimension),
    hour: Number(i.hour),
    effectiveStartTime: String(i.effectiveStartTime),
    quantity: String(i.quantity),
    byPeriod: Object.fromEntries(
      Object.entries((i.byPeriod ?? {}) as Record<string, unknown>).map(([p, q]) => [p, String(q)]),
    ),
    status: String(i.status) as UsageRecordStatus,
    ...opt("marketplaceStatus"),
    ...opt("acceptedQuantity"),
    ...opt("usageEventId"),
    ...opt("reason"),
    ...opt("lastError"),
    failedAttempts: Number(i.failedAttempts ?? 0),
    createdAt: Number(i.createdAt),
    updatedAt: Number(i.updatedAt),
  };
}

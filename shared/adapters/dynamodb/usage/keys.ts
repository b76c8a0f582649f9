/**
 * Keys and attribute helpers of the usage store's items (the table of them is in usage-store.ts;
 * docs/data-model.md has the full model), and the one consistent Query every usage read goes through.
 */
import { createHash } from "node:crypto";
import type { AttributeValue, DynamoDBClient, QueryCommandInput } from "@aws-sdk/client-dynamodb";
import type { LedgerEvent } from "../../../core/rating/types.js";
import { attemptCommitItem } from "../items/usage.js";
import { type ItemAv, queryAllAv, queryItemsAv } from "../paginate.js";

export type { ItemAv };
export type Av = AttributeValue;

/** The table the usage store's parts read and write, through the low-level client. */
export interface UsageTable {
  readonly client: DynamoDBClient;
  readonly table: string;
}

/** Shards of one (account, period)'s counters and pages (data-model.md: partition heat). */
export const USAGE_SHARDS = 16;

export const S = (s: string): Av => ({ S: s });
export const N = (n: number | string): Av => ({ N: String(n) });

/**
 * The event identity (G5) as a key. A pair longer than 512 bytes (source ≤ 1,024 bytes, id ≤ 256
 * characters) is keyed by its SHA-256, so `ID#` and `CONFLICT#` keys stay within DynamoDB's limits
 * (sort key ≤ 1,024 bytes); short ones keep their readable form, which an operator can read.
 */
export const identityOf = (e: LedgerEvent) => {
  const key = JSON.stringify([e.source, e.id]);
  return Buffer.byteLength(key) <= 512 ? key : `sha256:${createHash("sha256").update(key).digest("hex")}`;
};
export const commitKey = (attempt: string): ItemAv => attemptCommitItem.av.key({ attempt });
export { ctrPk, EVENTS_SK, evtPk } from "../items/usage-period.js";

type UsageQuery = Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey" | "ConsistentRead">;

/** Every item of a strongly consistent Query (the pager of paginate.ts). */
export const consistentItems = (t: UsageTable, input: UsageQuery): AsyncIterable<ItemAv> =>
  queryItemsAv(t.client, t.table, { ...input, ConsistentRead: true });

export const consistentQuery = (t: UsageTable, input: UsageQuery): Promise<ItemAv[]> =>
  queryAllAv(t.client, t.table, { ...input, ConsistentRead: true });

/** Every item of one partition, consistently. */
export const itemsOfPk = (t: UsageTable, pk: string): Promise<ItemAv[]> =>
  consistentQuery(t, { KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": S(pk) } });

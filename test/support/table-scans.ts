/**
 * Whole-table reads for tests, benches and diagnostics: DynamoDB Scans, which no user path makes
 * (the close and the exports read by account and period, through the period index). Kept out of the
 * storage ports so that no production code can reach them; each takes the store's table (its
 * client and name) and reads what the stores wrote there.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { CLOSE_PREFIX, closeRecordItem, LINE_PREFIX } from "../../shared/adapters/dynamodb/items/closes.js";
import {
  marketplacePk,
  USAGE_RECORD_PREFIX,
  usageRecordItem,
} from "../../shared/adapters/dynamodb/items/marketplace.js";
import { linesOfItem } from "../../shared/adapters/dynamodb/line-chunks.js";
import { acceptedUsageOf } from "../../shared/adapters/dynamodb/marketplace-store.js";
import { scanAll } from "../../shared/adapters/dynamodb/paginate.js";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import type { AcceptedMarketplaceUsage } from "../../shared/ports/marketplace.js";
import type { CloseRecord } from "../../shared/ports/storage.js";

/** A billing table: the client to read it with and its name (DynamoBillingStore and DynamoMarketplaceStore have both). */
export interface ScannedTable {
  readonly client: DynamoDBClient;
  readonly table: string;
}

const scan = (t: ScannedTable, input: Parameters<typeof scanAll>[2]) =>
  scanAll(DynamoDBDocumentClient.from(t.client), t.table, { ...input, ConsistentRead: true });

/** The items whose key starts with `prefix`, by a consistent Scan of the whole table. */
const scanPrefix = (t: ScannedTable, prefix: string, field: "sk" | "pk") =>
  scan(t, { FilterExpression: `begins_with(${field}, :p)`, ExpressionAttributeValues: { ":p": prefix } });

/** Every invoice line of every account and period. */
export const allLines = async (t: ScannedTable): Promise<InvoiceLine[]> =>
  (await scanPrefix(t, LINE_PREFIX, "sk")).flatMap(linesOfItem);

/** Every close record of every account and period. */
export const allCloses = async (t: ScannedTable): Promise<CloseRecord[]> =>
  (await scanPrefix(t, CLOSE_PREFIX, "sk")).map(closeRecordItem.decode);

/** Every accepted Marketplace usage event of every account, by hour, account and dimension. */
export async function acceptedUsage(t: ScannedTable): Promise<AcceptedMarketplaceUsage[]> {
  const items = await scan(t, {
    FilterExpression: "begins_with(pk, :mkt) AND begins_with(sk, :usage) AND #status = :accepted",
    ExpressionAttributeNames: usageRecordItem.names("status"),
    ExpressionAttributeValues: {
      ":mkt": marketplacePk(""),
      ":usage": USAGE_RECORD_PREFIX,
      ":accepted": "accepted",
    },
  });
  return acceptedUsageOf(items.map(usageRecordItem.decode));
}

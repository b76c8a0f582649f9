/**
 * Chunks of close reports' full lists (shared/app/close-report.ts) on the billing table (the item:
 * items/report-chunks.ts). Written only under the close claim (a ConditionCheck on the close record
 * in every transaction).
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { PeriodId } from "../../core/time.js";
import type { ReportChunk } from "../../ports/storage.js";
import { checkedCompressed } from "./item-size.js";
import { chunkOfSk, reportChunkItem, reportChunksPk } from "./items/report-chunks.js";
import { queryAll, type TransactItem, writeAllUnderClaim } from "./paginate.js";

/**
 * Puts the chunks and, with `keep`, deletes every chunk of this account-period not among the first
 * `keep[list]` of its list; each transaction checks the claim (`claimCheck`). False once it fails.
 */
export async function writeReportChunks(
  doc: DynamoDBDocumentClient,
  table: string,
  claimCheck: TransactItem,
  accountId: string,
  period: PeriodId,
  chunks: readonly ReportChunk[],
  keep?: Readonly<Record<string, number>>,
): Promise<boolean> {
  const pk = reportChunksPk(accountId, period);
  const writes: { item: TransactItem; bytes: number }[] = chunks.map((c) => {
    const deflated = checkedCompressed(
      `report chunk ${c.list}#${c.chunk}`,
      deflateRawSync(Buffer.from(JSON.stringify(c.entries))),
    );
    const Item = reportChunkItem.item({ accountId, period, ...c, entries: c.entries.length, deflated });
    return { item: { Put: { TableName: table, Item } }, bytes: deflated.length + 200 };
  });
  if (keep) {
    // Chunks of a crashed earlier attempt this one did not write (its lists were longer then).
    const existing = await queryAll(doc, table, {
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": pk },
      ProjectionExpression: "sk",
      ConsistentRead: true,
    });
    for (const { sk } of existing) {
      const { list, chunk } = chunkOfSk(String(sk));
      if (chunk >= (keep[list] ?? 0))
        writes.push({ item: { Delete: { TableName: table, Key: { pk, sk } } }, bytes: 100 });
    }
  }
  return writeAllUnderClaim(doc, claimCheck, writes);
}

export async function readReportChunk(
  doc: DynamoDBDocumentClient,
  table: string,
  accountId: string,
  period: PeriodId,
  list: string,
  chunk: number,
): Promise<readonly unknown[] | undefined> {
  const r = await doc.send(
    new GetCommand({
      TableName: table,
      Key: reportChunkItem.key({ accountId, period, list, chunk }),
      ConsistentRead: true,
    }),
  );
  if (!r.Item) return undefined;
  return JSON.parse(inflateRawSync(reportChunkItem.decode(r.Item).deflated).toString("utf8")) as unknown[];
}

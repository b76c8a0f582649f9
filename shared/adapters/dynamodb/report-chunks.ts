/**
 * Chunks of close reports' full lists (shared/app/close-report.ts), on the billing table:
 *
 * | item          | pk                          | sk                        |
 * |---------------|-----------------------------|---------------------------|
 * | report chunk  | REPORT#<account>#<period>   | <list>#<chunk, 6 digits>  |
 *
 * `z`: deflate of the chunk's JSON array (≤ 1,000 entries, ≤ 100 KB of JSON), `n`: its entries.
 * Written only under the close claim (a ConditionCheck on the close record in every transaction).
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { PeriodId } from "../../core/time.js";
import type { ReportChunk } from "../../ports/storage.js";
import { checkedCompressed } from "./item-size.js";
import { queryAll, type TransactItem, writeAllUnderClaim } from "./paginate.js";

const reportPk = (accountId: string, period: PeriodId) => `REPORT#${accountId}#${period}`;
const chunkSk = (list: string, chunk: number) => `${list}#${String(chunk).padStart(6, "0")}`;

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
  const pk = reportPk(accountId, period);
  const writes: { item: TransactItem; bytes: number }[] = chunks.map((c) => {
    const z = checkedCompressed(
      `report chunk ${c.list}#${c.chunk}`,
      deflateRawSync(Buffer.from(JSON.stringify(c.entries))),
    );
    return {
      item: {
        Put: { TableName: table, Item: { pk, sk: chunkSk(c.list, c.chunk), n: c.entries.length, z } },
      },
      bytes: z.length + 200,
    };
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
      const s = String(sk);
      const at = s.lastIndexOf("#");
      const kept = keep[s.slice(0, at)] ?? 0;
      if (Number(s.slice(at + 1)) >= kept)
        writes.push({ item: { Delete: { TableName: table, Key: { pk, sk: s } } }, bytes: 100 });
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
      Key: { pk: reportPk(accountId, period), sk: chunkSk(list, chunk) },
      ConsistentRead: true,
    }),
  );
  const z = r.Item?.z as Uint8Array | undefined;
  return z ? (JSON.parse(inflateRawSync(z).toString("utf8")) as unknown[]) : undefined;
}

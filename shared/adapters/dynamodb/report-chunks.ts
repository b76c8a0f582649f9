/**
 * Chunks of close reports' full lists (shared/app/close-report.ts, D16), on the billing table:
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
import { queryAll, type TransactItem, writeUnderClaim } from "./paginate.js";

const reportPk = (accountId: string, period: PeriodId) => `REPORT#${accountId}#${period}`;
const chunkSk = (list: string, chunk: number) => `${list}#${String(chunk).padStart(6, "0")}`;
/** Transactions stay inside DynamoDB's 100 items (with the claim check) and well inside its 4 MB. */
const MAX_WRITES = 99;
const MAX_BYTES = 3_000_000;

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
    const z = deflateRawSync(Buffer.from(JSON.stringify(c.entries)));
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

/**
 * Sends the writes in transactions of at most MAX_WRITES items and MAX_BYTES, each with the claim
 * check first; false (the rest unsent) once the check fails: the run lost its claim.
 */
export async function writeAllUnderClaim(
  doc: DynamoDBDocumentClient,
  claimCheck: TransactItem,
  writes: readonly { readonly item: TransactItem; readonly bytes: number }[],
): Promise<boolean> {
  let batch: TransactItem[] = [];
  let bytes = 0;
  const send = async () => {
    if (batch.length === 0) return true;
    try {
      return await writeUnderClaim(doc, claimCheck, batch);
    } finally {
      batch = [];
      bytes = 0;
    }
  };
  for (const w of writes) {
    if (batch.length >= MAX_WRITES || bytes + w.bytes > MAX_BYTES) if (!(await send())) return false;
    batch.push(w.item);
    bytes += w.bytes;
  }
  return send();
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

/**
 * Usage markers (items/usage-period.ts): which periods of an account hold usage, which shards of
 * its counters and pages hold data, and whether conflicts were recorded. Written by the fold before
 * it applies a run's counters and pages (one writer per account), with the period's entry in the
 * unclosed-usage index done once.
 */
import { type DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type PeriodId, periodWindow } from "../../../core/time.js";
import { usageMarkerItem } from "../items/usage-period.js";
import { putUnclosedUsage } from "../unclosed-usage.js";
import type { UsageTable } from "./keys.js";

/**
 * The usage marker of an (account, period), with the shards of its counters and pages added to
 * those it names, and tracking conflicts: a conflict of the period flags it.
 */
export async function markUsage(
  client: DynamoDBClient,
  table: string,
  accountId: string,
  period: PeriodId,
  cs: ReadonlySet<number>,
  ps: ReadonlySet<number>,
  /** The period's end for the account: enters the account-period in the unclosed-usage index once. */
  end?: number,
): Promise<void> {
  const key = usageMarkerItem.av.key({ accountId, period });
  const adds = [
    ...(cs.size > 0 ? (["counterShards"] as const) : []),
    ...(ps.size > 0 ? (["pageShards"] as const) : []),
  ];
  const marked = await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: key,
      // `tracksConflicts`: this marker is flagged when a conflict is recorded for its period, so a
      // close may skip the conflicts query of a marker that tracks them and has none.
      UpdateExpression: `SET ${usageMarkerItem.assign("period", "tracksConflicts")}${adds.length > 0 ? ` ADD ${adds.map((f) => `#${f} :${f}`).join(", ")}` : ""}`,
      ExpressionAttributeNames: usageMarkerItem.names("period", "tracksConflicts", ...adds),
      ExpressionAttributeValues: usageMarkerItem.av.values({
        period,
        tracksConflicts: true,
        ...(cs.size > 0 ? { counterShards: [...cs] } : {}),
        ...(ps.size > 0 ? { pageShards: [...ps] } : {}),
      }),
      ReturnValues: "ALL_NEW",
    }),
  );
  // Once per account-period (the marker's `indexed`), before the fold applies its run: the entry
  // first, then the flag, so a crash in between writes the entry again when the run is redone. A
  // period without the entry's end known (bulk loads) takes the latest end any zone has (UTC−12):
  // never closed early.
  if (usageMarkerItem.av.decode(marked.Attributes ?? {}).indexed) return;
  const doc = DynamoDBDocumentClient.from(client);
  await putUnclosedUsage(doc, table, {
    accountId,
    period,
    end: end ?? periodWindow(period, "Etc/GMT+12").end,
  });
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: key,
      UpdateExpression: `SET ${usageMarkerItem.assign("indexed")}`,
      ExpressionAttributeNames: usageMarkerItem.names("indexed"),
      ExpressionAttributeValues: usageMarkerItem.av.values({ indexed: true }),
    }),
  );
}

/**
 * Flags the period's usage marker (a conflict recorded for it). The marker may not exist yet:
 * the fold writes it when it applies the first copy's journal, which may come after this. The flag
 * then creates it with its period (read as a marker naming no shard list: every shard read, until
 * the fold's update adds them), and the fold's update keeps the flag.
 */
export async function flagConflict(t: UsageTable, accountId: string, period: PeriodId): Promise<void> {
  await t.client.send(
    new UpdateItemCommand({
      TableName: t.table,
      Key: usageMarkerItem.av.key({ accountId, period }),
      UpdateExpression: `SET ${usageMarkerItem.assign("conflicts", "period")}`,
      ExpressionAttributeNames: usageMarkerItem.names("conflicts", "period"),
      ExpressionAttributeValues: usageMarkerItem.av.values({ conflicts: true, period }),
    }),
  );
}

/**
 * Usage markers (items/usage-period.ts): which periods of an account hold usage, which shards of
 * its counters and pages hold data, and whether conflicts were recorded. Written by the fold before
 * it applies a run's counters and pages (one writer per account), with the period's entry in the
 * unclosed-usage index on its first mark.
 */
import { type DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type PeriodId, periodWindow } from "../../../core/time.js";
import { usageMarkerItem } from "../items/usage-period.js";
import { putUnclosedIfAbsent } from "../unclosed-usage.js";
import type { UsageTable } from "./keys.js";

/**
 * The usage marker of an (account, period), with the shards of its counters and pages added to
 * those it names, and tracking conflicts: a conflict of the period flags it. With `index` (the
 * account-period's first mark) the period also enters the unclosed-usage index, and the marker
 * records it (`ix`) in the same update: two writes for a first mark, one for any other.
 */
export async function markUsage(
  client: DynamoDBClient,
  table: string,
  accountId: string,
  period: PeriodId,
  cs: ReadonlySet<number>,
  ps: ReadonlySet<number>,
  /** First mark: the period's end for the account (none known: bulk loads). */
  index?: { readonly end?: number },
): Promise<void> {
  // The entry before the marker that records it. The caller marks first until the bundle records
  // the mark, so a crash anywhere puts both again when the run is redone. If absent: an entry
  // there already keeps its end and any suspension. A period without the account's end known
  // takes the latest end any zone has (UTC−12): never closed early.
  if (index)
    await putUnclosedIfAbsent(DynamoDBDocumentClient.from(client), table, {
      accountId,
      period,
      end: index.end ?? periodWindow(period, "Etc/GMT+12").end,
    });
  const adds = [
    ...(cs.size > 0 ? (["counterShards"] as const) : []),
    ...(ps.size > 0 ? (["pageShards"] as const) : []),
  ];
  const sets = ["period", "tracksConflicts", ...(index ? (["indexed"] as const) : [])] as const;
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: usageMarkerItem.av.key({ accountId, period }),
      // `tracksConflicts`: this marker is flagged when a conflict is recorded for its period, so a
      // close may skip the conflicts query of a marker that tracks them and has none.
      UpdateExpression: `SET ${usageMarkerItem.assign(...sets)}${adds.length > 0 ? ` ADD ${adds.map((f) => `#${f} :${f}`).join(", ")}` : ""}`,
      ExpressionAttributeNames: usageMarkerItem.names(...sets, ...adds),
      ExpressionAttributeValues: usageMarkerItem.av.values({
        period,
        tracksConflicts: true,
        ...(index ? { indexed: true } : {}),
        ...(cs.size > 0 ? { counterShards: [...cs] } : {}),
        ...(ps.size > 0 ? { pageShards: [...ps] } : {}),
      }),
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

/**
 * Usage markers (ACCT#<account> / USAGE#<period>): which periods of an account hold usage, which
 * shards of its counters (`cs`) and pages (`ps`) hold data, and whether conflicts were recorded
 * (`cf`, tracked since `cft`). Written by the fold before it applies a run's counters and pages
 * (one writer per account), with the period's entry in the unclosed-usage index done once (`ix`).
 */
import { type DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type PeriodId, periodWindow } from "../../../core/time.js";
import { putUnclosedUsage } from "../unclosed-usage.js";
import { S, type UsageTable, usageMarkerKey } from "./keys.js";

/**
 * The usage marker of an (account, period), with the shards of its counters (`cs`) and pages (`ps`)
 * added to those it names, and `cft`: conflicts of the period flag it (`cf`).
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
  const adds = [...(cs.size > 0 ? ["cs :cs"] : []), ...(ps.size > 0 ? ["ps :ps"] : [])];
  const marked = await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: usageMarkerKey(accountId, period),
      // `cft`: this marker is flagged `cf` when a conflict is recorded for its period, so a close
      // may skip the conflicts query of a marker that tracks them and has none.
      UpdateExpression: `SET period = :p, cft = :t${adds.length > 0 ? ` ADD ${adds.join(", ")}` : ""}`,
      ExpressionAttributeValues: {
        ":p": S(period),
        ":t": { BOOL: true },
        ...(cs.size > 0 ? { ":cs": { NS: [...cs].map(String) } } : {}),
        ...(ps.size > 0 ? { ":ps": { NS: [...ps].map(String) } } : {}),
      },
      ReturnValues: "ALL_NEW",
    }),
  );
  // Once per account-period (the marker's `ix`), before the fold applies its run: the entry first,
  // then the flag, so a crash in between writes the entry again when the run is redone. A period without
  // the entry's end known (bulk loads) takes the latest end any zone has (UTC−12): never closed early.
  if (marked.Attributes?.ix?.BOOL) return;
  const doc = DynamoDBDocumentClient.from(client);
  await putUnclosedUsage(doc, table, {
    accountId,
    period,
    end: end ?? periodWindow(period, "Etc/GMT+12").end,
  });
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: usageMarkerKey(accountId, period),
      UpdateExpression: "SET ix = :t",
      ExpressionAttributeValues: { ":t": { BOOL: true } },
    }),
  );
}

/**
 * Flags the period's usage marker `cf` (a conflict recorded for it). The marker may not exist yet:
 * the fold writes it when it applies the first copy's journal, which may come after this. The flag
 * then creates it with its period (read as a marker naming no shard list: every shard read, until
 * the fold's update adds them), and the fold's update keeps the flag.
 */
export async function flagConflict(t: UsageTable, accountId: string, period: PeriodId): Promise<void> {
  await t.client.send(
    new UpdateItemCommand({
      TableName: t.table,
      Key: usageMarkerKey(accountId, period),
      UpdateExpression: "SET cf = :t, period = :p",
      ExpressionAttributeValues: { ":t": { BOOL: true }, ":p": S(period) },
    }),
  );
}

/**
 * Usage markers (ACCT#<account> / USAGE#<period>): which periods of an account hold usage, which
 * shards of its counters (`cs`) and pages (`ps`) hold data, and whether conflicts were recorded
 * (`cf`, tracked since `cft`). Written before any attempt of the period commits, with the period's
 * entry in the unclosed-usage index done once (`ix`).
 */
import { type DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { compositeKey } from "../../../core/keys.js";
import { mapLimit } from "../../../core/map-limit.js";
import { type PeriodId, periodWindow } from "../../../core/time.js";
import type { PreparedEvent } from "../../../ports/usage-store.js";
import { isConditionFailure } from "../paginate.js";
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
  // Once per account-period (the marker's `ix`), before any attempt of it commits: the entry first,
  // then the flag, so a crash in between writes the entry again on the re-delivery. A period without
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
 * Flags the period's usage marker `cf` (a conflict recorded for it). Only an existing marker: every
 * stored event's period has one (written before its commit), and a new item would read as a marker
 * from before markers named their shards (every shard read).
 */
export async function flagConflict(t: UsageTable, accountId: string, period: PeriodId): Promise<void> {
  await t.client
    .send(
      new UpdateItemCommand({
        TableName: t.table,
        Key: usageMarkerKey(accountId, period),
        UpdateExpression: "SET cf = :t",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":t": { BOOL: true } },
      }),
    )
    .catch((e: unknown) => {
      if (!isConditionFailure(e)) throw e;
    });
}

/** The usage markers one container writes, each (account, period, shard) once. */
export class PeriodMarkers {
  /** (account, period, counter or page shard) whose USAGE# marker this container has written. */
  private readonly marked = new Set<string>();

  constructor(private readonly t: UsageTable) {}

  /**
   * Usage markers with the shards of the period's counters (`cs`) and pages (`ps`) this batch's
   * attempts write: a close reads only those shards. Written before the attempts commit, so a
   * marker names every shard that holds data (and at worst one whose attempt did not commit: read,
   * empty). One write per (account, period) and container as before, plus one per shard not yet
   * marked by this container (≤ 2 × shards, ever).
   */
  async markPeriods(
    events: readonly PreparedEvent[],
    attemptOf: ReadonlyMap<number, { readonly shard: number }>,
  ): Promise<void> {
    const todo = new Map<
      string,
      { account: string; period: PeriodId; cs: Set<number>; ps: Set<number>; end?: number }
    >();
    events.forEach((p, i) => {
      const attempt = attemptOf.get(i);
      if (!attempt) return; // a repeat of an identity within the batch: its first occurrence counts
      const k = compositeKey(p.accountId, p.contribution.period);
      const kind = p.contribution.counted ? "c" : "p";
      const mark = `${k}#${kind}${attempt.shard}`;
      if (this.marked.has(mark)) return;
      const t = todo.get(k) ?? {
        account: p.accountId,
        period: p.contribution.period,
        cs: new Set(),
        ps: new Set(),
        ...(p.periodEnd !== undefined ? { end: p.periodEnd } : {}),
      };
      (kind === "c" ? t.cs : t.ps).add(attempt.shard);
      todo.set(k, t);
    });
    await mapLimit([...todo], 8, async ([k, t]) => {
      await markUsage(this.t.client, this.t.table, t.account, t.period, t.cs, t.ps, t.end);
      for (const c of t.cs) this.marked.add(`${k}#c${c}`);
      for (const c of t.ps) this.marked.add(`${k}#p${c}`);
    });
  }
}

/**
 * Loading closed account-periods straight into the billing table's items (benchmarks, tests of
 * the readers at volume): per account the close record (status closed, its report), the line chunk
 * items and the period index entry, exactly as a close leaves them without an exports bucket
 * (finishClose's transaction and writeCloseLines' chunks), in BatchWriteItem requests of 25. The
 * caller vouches that no close writes the same account-periods meanwhile. The finance API, `billing
 * export` and the manifest read the result as the close's own.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { InvoiceLine } from "../../contract/invoice-line.js";
import type { PeriodId } from "../../core/time.js";
import { putInBatches } from "./batch-put.js";
import { closeRecordItem } from "./items/closes.js";
import { closeLineChunks } from "./line-chunks.js";
import { notePeriod, periodIndexPut } from "./period-index.js";

export interface ClosedAccountLoad {
  readonly accountId: string;
  readonly period: PeriodId;
  readonly closedAt: number;
  /** The report as the close stores it (its `adjustments` name the reference periods billed). */
  readonly report: unknown;
  /** Every line the close emitted (period `period`, any reference period). */
  readonly lines: readonly InvoiceLine[];
}

/** Writes the loads' items, `concurrency` requests in flight; unprocessed items are sent again. */
export async function bulkLoadClosedAccounts(
  client: DynamoDBClient,
  table: string,
  loads: readonly ClosedAccountLoad[],
  concurrency = 8,
): Promise<void> {
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const items: Record<string, unknown>[] = [];
  for (const l of loads) {
    items.push(
      closeRecordItem.item({
        accountId: l.accountId,
        period: l.period,
        status: "closed",
        startedAt: l.closedAt,
        closedAt: l.closedAt,
        report: l.report,
      }),
    );
    for (const c of closeLineChunks(l.accountId, l.period, l.lines)) items.push(c.item);
    const references = [...new Set(l.lines.map((x) => x.reference_period).filter((r) => r !== l.period))];
    items.push(periodIndexPut(table, l.accountId, l.period, l.closedAt, references).Put.Item);
  }
  await putInBatches(items, concurrency, async (puts) => {
    const r = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: puts } }));
    return (r.UnprocessedItems?.[table] ?? []) as typeof puts;
  });
  for (const period of new Set(loads.map((l) => l.period))) await notePeriod(doc, table, period);
}

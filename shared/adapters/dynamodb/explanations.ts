/**
 * Explanations of invoice lines on the billing table, one item per line:
 *
 * | item             | pk              | sk     |
 * |------------------|-----------------|--------|
 * | line explanation | EXPL#<line id>  | EXPL   |
 *
 * The line id alone is the key (a reader needs nothing else: `billing explain L-…`, the finance API),
 * so each line is its own partition: no hot key whatever the close's size. `x`: the explanation's
 * JSON (bounded: ≤ 20 samples, figures and corrected ids, a few KB, checked against 300,000 UTF-8 bytes); `accountId`, `period` for audit.
 * Written only under the close claim, in the lines' own transactions (billing-table.ts writeCloseLines).
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { LineExplanation } from "../../core/rating/explain/explain.js";
import type { PeriodId } from "../../core/time.js";
import { ItemTooLargeError, MAX_PAYLOAD_BYTES } from "./item-size.js";

export const explanationKey = (lineId: string) => ({ pk: `EXPL#${lineId}`, sk: "EXPL" });

/** The explanations' puts for the close's claim-guarded transactions (billing-table.ts writeCloseLines). */
export const explanationPuts = (
  table: string,
  accountId: string,
  period: PeriodId,
  explanations: readonly LineExplanation[],
) =>
  explanations.map((x) => {
    const json = JSON.stringify(x);
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_PAYLOAD_BYTES)
      throw new ItemTooLargeError(`explanation of ${x.lineId}`, bytes, MAX_PAYLOAD_BYTES);
    return {
      item: { Put: { TableName: table, Item: { ...explanationKey(x.lineId), accountId, period, x: json } } },
      bytes: bytes + 200,
    };
  });

export async function readExplanation(
  doc: DynamoDBDocumentClient,
  table: string,
  lineId: string,
): Promise<LineExplanation | undefined> {
  const r = await doc.send(
    new GetCommand({ TableName: table, Key: explanationKey(lineId), ConsistentRead: true }),
  );
  return r.Item ? (JSON.parse(String(r.Item.x)) as LineExplanation) : undefined;
}

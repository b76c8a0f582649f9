/**
 * Explanations of invoice lines on the billing table, one item per line (items/explanations.ts).
 * Written only under the close claim, in the lines' own transactions (billing-table.ts writeCloseLines).
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { LineExplanation } from "../../core/rating/explain/explain.js";
import type { PeriodId } from "../../core/time.js";
import { itemBytes } from "./item-size.js";
import { explanationItem } from "./items/explanations.js";

/** The explanations' puts for the close's claim-guarded transactions (billing-table.ts writeCloseLines). */
export const explanationPuts = (
  table: string,
  accountId: string,
  period: PeriodId,
  explanations: readonly LineExplanation[],
) =>
  explanations.map((explanation) => {
    const Item = explanationItem.item({ lineId: explanation.lineId, explanation, accountId, period });
    return { item: { Put: { TableName: table, Item } }, bytes: itemBytes(Item) + 100 };
  });

export async function readExplanation(
  doc: DynamoDBDocumentClient,
  table: string,
  lineId: string,
): Promise<LineExplanation | undefined> {
  const r = await doc.send(
    new GetCommand({ TableName: table, Key: explanationItem.key({ lineId }), ConsistentRead: true }),
  );
  return r.Item ? explanationItem.decode(r.Item).explanation : undefined;
}

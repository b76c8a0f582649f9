/** Helpers both DynamoDB stores share: reading every page of a Query or Scan (DynamoDB returns at
 * most 1 MB per call) and telling a failed condition from a real error. */
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
} from "@aws-sdk/lib-dynamodb";

export type Item = Record<string, unknown>;

export async function queryAll(
  doc: DynamoDBDocumentClient,
  TableName: string,
  input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">,
): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const r = await doc.send(new QueryCommand({ ...input, TableName, ExclusiveStartKey }));
    items.push(...((r.Items ?? []) as Item[]));
    ExclusiveStartKey = r.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

export async function scanAll(
  doc: DynamoDBDocumentClient,
  TableName: string,
  input: Omit<ScanCommandInput, "TableName" | "ExclusiveStartKey">,
): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const r = await doc.send(new ScanCommand({ ...input, TableName, ExclusiveStartKey }));
    items.push(...((r.Items ?? []) as Item[]));
    ExclusiveStartKey = r.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** A conditional write that found its condition false (an expected outcome, not a fault). */
export const isConditionFailure = (e: unknown): boolean =>
  (e as { name?: string }).name === "ConditionalCheckFailedException";

/** Reads every page of a Query or Scan (DynamoDB returns at most 1 MB per call). */
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

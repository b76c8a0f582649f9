/** Helpers both DynamoDB stores share: reading every page of a Query or Scan (DynamoDB returns at
 * most 1 MB per call), writing behind a close claim, and telling a failed condition from a real error. */
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
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

/** A transaction cancelled by a false condition or a concurrent transaction: read again and retry. */
export const isTransactionRace = (e: unknown): boolean =>
  e instanceof TransactionCanceledException &&
  (e.CancellationReasons?.some(
    (r) => r.Code === "ConditionalCheckFailed" || r.Code === "TransactionConflict",
  ) ??
    false);

/** One item of a TransactWriteItems call (document client). */
export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/**
 * Writes `items` in one transaction whose first item holds the condition that this run still holds
 * the close claim (G7). False when that condition failed: the claim was lost and nothing was written.
 */
export async function transactUnderClaim(
  doc: DynamoDBDocumentClient,
  items: readonly TransactItem[],
): Promise<boolean> {
  try {
    await doc.send(new TransactWriteCommand({ TransactItems: [...items] }));
    return true;
  } catch (e) {
    if (
      e instanceof TransactionCanceledException &&
      e.CancellationReasons?.[0]?.Code === "ConditionalCheckFailed"
    )
      return false;
    throw e;
  }
}

/** `items` in one transaction after `claimCheck`: false when the claim was lost (transactUnderClaim). */
export const writeUnderClaim = (
  doc: DynamoDBDocumentClient,
  claimCheck: TransactItem,
  items: readonly TransactItem[],
): Promise<boolean> => transactUnderClaim(doc, [claimCheck, ...items]);

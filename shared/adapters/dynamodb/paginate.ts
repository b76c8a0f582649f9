/** Helpers the DynamoDB stores share: reading every page of a Query or Scan (DynamoDB returns at
 * most 1 MB per call; one paging loop for both clients), writing behind a close claim, and telling a
 * failed condition from a real error. */
import {
  type AttributeValue,
  type DynamoDBClient,
  QueryCommand as LowLevelQueryCommand,
  type QueryCommandInput as LowLevelQueryCommandInput,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
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
/** An item as the low-level client reads it (attribute values not unmarshalled). */
export type ItemAv = Record<string, AttributeValue>;

/** One page of a Query or Scan, with the key to start the next page from (none after the last). */
type Page<T> = { readonly Items?: T[]; readonly LastEvaluatedKey?: T };
/** What a caller gives of a Query or Scan: the table is the store's, the start key the pager's. */
type PagedInput<T> = Omit<T, "TableName" | "ExclusiveStartKey">;

/** Every item, page after page (DynamoDB returns at most 1 MB per call), each page read when needed. */
async function* pagedItems<T>(
  page: (ExclusiveStartKey: T | undefined) => Promise<Page<T>>,
): AsyncGenerator<T> {
  let ExclusiveStartKey: T | undefined;
  do {
    const r = await page(ExclusiveStartKey);
    yield* r.Items ?? [];
    ExclusiveStartKey = r.LastEvaluatedKey;
  } while (ExclusiveStartKey);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const i of items) all.push(i);
  return all;
}

/** The request of every page: the caller's input, the store's table, the start key the pager's. */
const pages =
  <I, T>(send: (input: I & { TableName: string; ExclusiveStartKey?: T }) => Promise<Page<T>>) =>
  (TableName: string, input: I) =>
    pagedItems<T>((ExclusiveStartKey) => send({ ...input, TableName, ExclusiveStartKey }));

type Query = PagedInput<QueryCommandInput>;
type LowLevelQuery = PagedInput<LowLevelQueryCommandInput>;

export const queryItems = (doc: DynamoDBDocumentClient, table: string, input: Query) =>
  pages<typeof input, Item>((i) => doc.send(new QueryCommand(i)))(table, input);

export const queryAll = (...query: Parameters<typeof queryItems>) => collect(queryItems(...query));

/** Every item of a Query through the low-level client (binary and number sets read as stored). */
export const queryItemsAv = (client: DynamoDBClient, table: string, input: LowLevelQuery) =>
  pages<typeof input, ItemAv>((i) => client.send(new LowLevelQueryCommand(i)))(table, input);

export const queryAllAv = (...query: Parameters<typeof queryItemsAv>) => collect(queryItemsAv(...query));

export const scanAll = (doc: DynamoDBDocumentClient, table: string, input: PagedInput<ScanCommandInput>) =>
  collect(pages<typeof input, Item>((i) => doc.send(new ScanCommand(i)))(table, input));

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

/** Transactions stay inside DynamoDB's 100 items (with the claim check) and well inside its 4 MB. */
const MAX_WRITES = 99;
const MAX_BYTES = 3_000_000;

/**
 * Sends the writes in transactions of at most MAX_WRITES items and MAX_BYTES, each with the claim
 * check first; false (the rest unsent) once the check fails: the run lost its claim.
 */
export async function writeAllUnderClaim(
  doc: DynamoDBDocumentClient,
  claimCheck: TransactItem,
  writes: readonly { readonly item: TransactItem; readonly bytes: number }[],
): Promise<boolean> {
  let batch: TransactItem[] = [];
  let bytes = 0;
  const send = async () => {
    if (batch.length === 0) return true;
    try {
      return await writeUnderClaim(doc, claimCheck, batch);
    } finally {
      batch = [];
      bytes = 0;
    }
  };
  for (const w of writes) {
    if (batch.length >= MAX_WRITES || bytes + w.bytes > MAX_BYTES) if (!(await send())) return false;
    batch.push(w.item);
    bytes += w.bytes;
  }
  return send();
}

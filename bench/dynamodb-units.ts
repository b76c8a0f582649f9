/**
 * DynamoDB capacity units as AWS bills them, computed from the SDK's low-level inputs and outputs
 * (item sizes: names plus values; 1 WRU per KB written, 1 RRU per 4 KB read consistently, half that
 * eventually consistent). The benchmarks meter the one DynamoDB client with these.
 */
import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { avItemBytes, avValueBytes } from "../shared/adapters/dynamodb/item-size.js";

export type Av = AttributeValue;

/** Item sizes as DynamoDB bills them: the same count that bounds the items we write. */
export const valueSize = avValueBytes;
export const itemSize = avItemBytes;

export const wru = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
export const rru = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);

const itemsSize = (items: readonly Record<string, Av>[] = []) => items.reduce((s, i) => s + itemSize(i), 0);

/** The read units of a read command (GetItem, Query, Scan, ExecuteStatement, BatchGetItem); undefined for any other. */
// biome-ignore lint/suspicious/noExplicitAny: SDK command inputs and outputs of every shape
export function readUnits(command: string | undefined, input: any, output: any): number | undefined {
  switch (command) {
    case "GetItemCommand":
      return rru(output?.Item ? itemSize(output.Item) : 0, input.ConsistentRead === true);
    case "QueryCommand":
    case "ScanCommand":
    case "ExecuteStatementCommand":
      return rru(itemsSize(output?.Items), input.ConsistentRead === true);
    case "BatchGetItemCommand": {
      let units = 0;
      for (const [table, items] of Object.entries(output?.Responses ?? {}) as [
        string,
        Record<string, Av>[],
      ][])
        for (const i of items)
          units += rru(itemSize(i), input.RequestItems?.[table]?.ConsistentRead === true);
      return units;
    }
    default:
      return undefined;
  }
}

/** Calls `record` after every request the client answers: each benchmark's meter hangs here. */
export function onEveryAnswer(
  client: DynamoDBClient,
  name: string,
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's low-level input and output, as readUnits takes them
  record: (command: string, input: any, output: any) => void,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      record(context.commandName ?? "?", args.input, out.output);
      return out;
    },
    { step: "initialize", name },
  );
}

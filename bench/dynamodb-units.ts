/**
 * DynamoDB capacity units as AWS bills them, computed from the SDK's low-level inputs and outputs
 * (item sizes: names plus values; 1 WRU per KB written, 1 RRU per 4 KB read consistently, half that
 * eventually consistent). The benchmarks meter the one DynamoDB client with these.
 */
import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { avItemBytes, avValueBytes, itemBytes } from "../shared/adapters/dynamodb/item-size.js";

export type Av = AttributeValue;

/**
 * The document client's requests reach the client's middleware with plain values (it marshals
 * inside): their items are sized as plain values, their keys read as plain strings.
 */
const AV_TAGS = new Set(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]);
const isAv = (v: unknown): v is Av =>
  typeof v === "object" &&
  v !== null &&
  !(v instanceof Uint8Array) &&
  !Array.isArray(v) &&
  !(v instanceof Set) &&
  Object.keys(v).length === 1 &&
  AV_TAGS.has(Object.keys(v)[0]!);

/** Item sizes as DynamoDB bills them: the same count that bounds the items we write. */
export const valueSize = (v: unknown): number => (isAv(v) ? avValueBytes(v) : itemBytes({ "": v }));
export const itemSize = (item: Record<string, unknown>): number =>
  Object.values(item).every(isAv) ? avItemBytes(item as Record<string, Av>) : itemBytes(item);
/** An item's or key's partition key, low-level or plain. */
const pkOf = (item: Record<string, unknown> | undefined): string | undefined => {
  const pk = item?.pk;
  return typeof pk === "string" ? pk : isAv(pk) ? pk.S : undefined;
};

export const wru = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
export const rru = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);

const itemsSize = (items: readonly Record<string, unknown>[] = []) =>
  items.reduce((s, i) => s + itemSize(i), 0);

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

/** Item size of an update: key plus the values it sets (the counters' items are these and nothing else). */
const updateSize = (key: Record<string, unknown>, values: Record<string, unknown> = {}) =>
  itemSize(key) + Object.entries(values).reduce((s, [k, v]) => s + k.length + valueSize(v), 0);

/** Requests, write and read units of every DynamoDB answer, by command, partition key and item kind. */
export class Meter {
  requests = 0;
  wru = 0;
  rru = 0;
  byCommand = new Map<string, number>();
  pkWru = new Map<string, number>();
  /** WRU by item kind (the key prefix: ID, CTR, EVT, COMMIT, ACCT …). */
  kindWru = new Map<string, number>();
  /** Adds another meter's counts to this one (the sub-phases of one stretch of traffic). */
  add(other: Meter): this {
    this.requests += other.requests;
    this.wru += other.wru;
    this.rru += other.rru;
    for (const [mine, theirs] of [
      [this.byCommand, other.byCommand],
      [this.kindWru, other.kindWru],
      [this.pkWru, other.pkWru],
    ] as const)
      for (const [k, v] of theirs) mine.set(k, (mine.get(k) ?? 0) + v);
    return this;
  }
  private write(pk: string | undefined, units: number) {
    this.wru += units;
    if (!pk) return;
    this.pkWru.set(pk, (this.pkWru.get(pk) ?? 0) + units);
    const kind = pk.slice(0, pk.indexOf("#") + 1 || pk.length);
    this.kindWru.set(kind, (this.kindWru.get(kind) ?? 0) + units);
  }
  // biome-ignore lint/suspicious/noExplicitAny: SDK command inputs and outputs of every shape
  record(command: string, input: any, output: any) {
    this.requests += 1;
    this.byCommand.set(command, (this.byCommand.get(command) ?? 0) + 1);
    switch (command) {
      case "PutItemCommand":
        return this.write(pkOf(input.Item), wru(itemSize(input.Item)));
      case "UpdateItemCommand":
        return this.write(pkOf(input.Key), wru(updateSize(input.Key, input.ExpressionAttributeValues)));
      case "DeleteItemCommand":
        return this.write(pkOf(input.Key), 1);
      case "TransactWriteItemsCommand":
        for (const t of input.TransactItems ?? []) {
          if (t.Put) this.write(pkOf(t.Put.Item), 2 * wru(itemSize(t.Put.Item)));
          else if (t.Update)
            this.write(
              pkOf(t.Update.Key),
              2 * wru(updateSize(t.Update.Key, t.Update.ExpressionAttributeValues)),
            );
          else if (t.Delete) this.write(pkOf(t.Delete.Key), 2);
          else if (t.ConditionCheck) this.write(pkOf(t.ConditionCheck.Key), 2);
        }
        return;
      case "BatchExecuteStatementCommand":
        // Each INSERT is a conditional put of the item its parameters give (names: see usage-store.ts).
        for (const s of input.Statements ?? []) {
          const names = ["pk", "sk", "h", "a", "p", "t", "o", "at"];
          const bytes = (s.Parameters ?? []).reduce(
            (n: number, v: Av, i: number) => n + (names[i]?.length ?? 2) + valueSize(v),
            0,
          );
          this.write(s.Parameters?.[0]?.S, wru(bytes));
        }
        return;
      case "BatchWriteItemCommand":
        for (const reqs of Object.values(input.RequestItems ?? {}) as {
          PutRequest?: { Item: Record<string, Av> };
        }[][])
          for (const r of reqs)
            this.write(pkOf(r.PutRequest?.Item), r.PutRequest ? wru(itemSize(r.PutRequest.Item)) : 1);
        return;
      default:
        this.rru += readUnits(command, input, output) ?? 0;
    }
  }
}

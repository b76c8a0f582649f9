/**
 * The single DynamoDB table behind every storage port (pk/sk single-table design).
 *
 * | item                | pk                       | sk                                   |
 * |---------------------|--------------------------|--------------------------------------|
 * | usage (G5, counters, raw events, conflicts): usage-store.ts; accounts and tariffs: config-store.ts |
 * | period close        | ACCT#<account>           | CLOSE#<period>                       |
 * | late marker (G7)    | ACCT#<account>           | LATE#<period>                        |
 * | invoice line        | ACCT#<account>           | LINE#<ref period>#<period>#<line id> |
 * | dead letter         | DEADLETTER               | <SQS message id>                     |
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import type { InvoiceLine } from "../../contract/invoice-line.js";
import type { BillingConfig } from "../../core/config.js";
import type { PeriodId } from "../../core/time.js";
import type {
  CloseRecord,
  ConfigStore,
  DeadLetter,
  DeadLetterStore,
  PeriodStore,
} from "../../ports/storage.js";
import { DynamoConfigStore } from "./config-store.js";
import { isConditionFailure, queryAll, scanAll } from "./paginate.js";
import { DynamoUsageStore, type UsageStoreOptions } from "./usage-store.js";

const acct = (accountId: string) => `ACCT#${accountId}`;

export async function ensureBillingTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      }),
    );
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  for (let i = 0; i < 50; i++) {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (d.Table?.TableStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class DynamoBillingStore implements PeriodStore, DeadLetterStore, ConfigStore {
  private readonly doc: DynamoDBDocumentClient;
  /** Identity claims, counters and raw events (usage-store.ts). */
  readonly usage: DynamoUsageStore;
  /** Accounts and tariffs, one item each (config-store.ts). */
  readonly configs: DynamoConfigStore;
  constructor(
    client: DynamoDBClient,
    private readonly table: string,
    opts: UsageStoreOptions = {},
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.usage = new DynamoUsageStore(client, table, opts);
    this.configs = new DynamoConfigStore(client, table);
  }

  private queryAll(input: Omit<QueryCommandInput, "TableName">) {
    return queryAll(this.doc, this.table, input);
  }

  // ---- PeriodStore ----
  async getClose(accountId: string, period: PeriodId): Promise<CloseRecord | undefined> {
    const r = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: acct(accountId), sk: `CLOSE#${period}` },
        ConsistentRead: true,
      }),
    );
    return r.Item ? toClose(r.Item) : undefined;
  }

  async beginClose(accountId: string, period: PeriodId, at: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: acct(accountId),
            sk: `CLOSE#${period}`,
            accountId,
            period,
            status: "closing",
            startedAt: at,
          },
          ConditionExpression: "attribute_not_exists(pk) OR #s = :closing",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":closing": "closing" },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async finishClose(accountId: string, period: PeriodId, at: number, lines: InvoiceLine[], report: unknown) {
    // Lines first (idempotent ids), then the close record: a crash in between leaves "closing", which a rerun redoes.
    for (let i = 0; i < lines.length; i += 25) {
      const chunk = lines.slice(i, i + 25);
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: chunk.map((l) => ({
            Put: {
              TableName: this.table,
              Item: {
                pk: acct(accountId),
                sk: `LINE#${l.reference_period}#${l.period}#${l.line_id}`,
                line: l,
              },
            },
          })),
        }),
      );
    }
    const prior = await this.getClose(accountId, period);
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: acct(accountId),
          sk: `CLOSE#${period}`,
          accountId,
          period,
          status: "closed",
          startedAt: prior?.startedAt ?? at,
          closedAt: at,
          report: JSON.stringify(report),
        },
      }),
    );
  }

  async markLate(accountId: string, period: PeriodId, at: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: acct(accountId), sk: `LATE#${period}`, period, markedAt: at },
      }),
    );
  }

  async latePeriods(accountId: string) {
    const items = await this.queryAll({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": acct(accountId), ":p": "LATE#" },
      ConsistentRead: true,
    });
    return items.map((i) => ({ period: String(i.period), markedAt: Number(i.markedAt) }));
  }

  async clearLate(accountId: string, period: PeriodId, markedAt: number): Promise<void> {
    // Only the marker that was read: one written meanwhile stays for the next close.
    await this.doc
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: acct(accountId), sk: `LATE#${period}` },
          ConditionExpression: "markedAt = :m",
          ExpressionAttributeValues: { ":m": markedAt },
        }),
      )
      .catch((e: unknown) => {
        if (!isConditionFailure(e)) throw e;
      });
  }

  async linesForReference(accountId: string, referencePeriod: PeriodId): Promise<InvoiceLine[]> {
    const items = await this.queryAll({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": acct(accountId), ":p": `LINE#${referencePeriod}#` },
      ConsistentRead: true,
    });
    return items.map((i) => i.line as InvoiceLine);
  }

  private scanAll(prefix: string, field: "sk" | "pk") {
    return scanAll(this.doc, this.table, {
      FilterExpression: `begins_with(${field}, :p)`,
      ExpressionAttributeValues: { ":p": prefix },
      ConsistentRead: true,
    });
  }

  async allLines(): Promise<InvoiceLine[]> {
    return (await this.scanAll("LINE#", "sk")).map((i) => i.line as InvoiceLine);
  }

  async allCloses(): Promise<CloseRecord[]> {
    return (await this.scanAll("CLOSE#", "sk")).map(toClose);
  }

  // ---- DeadLetterStore ----
  async put(letter: DeadLetter): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: "DEADLETTER", sk: letter.deadLetterId, ...letter },
      }),
    );
  }

  async list(): Promise<DeadLetter[]> {
    const items = await this.queryAll({
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": "DEADLETTER" },
      ConsistentRead: true,
    });
    const letters = items.map((i) => ({
      deadLetterId: String(i.deadLetterId),
      messageId: String(i.messageId),
      receivedAt: Number(i.receivedAt),
      reason: String(i.reason),
      body: String(i.body),
      ...(i.subject !== undefined ? { subject: String(i.subject) } : {}),
    }));
    return letters.sort((a, b) => a.receivedAt - b.receivedAt || (a.deadLetterId < b.deadLetterId ? -1 : 1));
  }

  async remove(deadLetterId: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.table, Key: { pk: "DEADLETTER", sk: deadLetterId } }),
    );
  }

  // ---- ConfigStore: one item per account and per tariff (config-store.ts) ----
  loadConfig(): Promise<BillingConfig> {
    return this.configs.loadConfig();
  }

  saveConfig(config: BillingConfig): Promise<void> {
    return this.configs.saveConfig(config);
  }
}

function toClose(i: Record<string, unknown>): CloseRecord {
  return {
    accountId: String(i.accountId),
    period: String(i.period),
    status: i.status === "closed" ? "closed" : "closing",
    startedAt: Number(i.startedAt),
    ...(i.closedAt !== undefined ? { closedAt: Number(i.closedAt) } : {}),
    ...(i.report !== undefined ? { report: JSON.parse(String(i.report)) } : {}),
  };
}

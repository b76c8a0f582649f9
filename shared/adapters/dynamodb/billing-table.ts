/**
 * The single DynamoDB table behind every storage port (pk/sk single-table design): its creation and
 * the store that gathers the ports over it. Each kind of item has one codec in items/ (docs/data-model.md
 * lists them); each job has its store: usage-store.ts (usage), config-store.ts (configuration),
 * period-store.ts (closes, lines, late markers, report chunks, explanations, the period index),
 * dead-letter-store.ts (dead letters), unclosed-usage.ts, late-conflicts.ts.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import type { BillingConfig } from "../../core/config.js";
import type { ConfigStore, DeadLetterStore } from "../../ports/storage.js";
import { DynamoConfigStore } from "./config-store.js";
import { DynamoDeadLetterStore } from "./dead-letter-store.js";
import { DynamoLateConflicts } from "./late-conflicts.js";
import { DynamoPeriodStore } from "./period-store.js";
import { DynamoUnclosedUsageIndex } from "./unclosed-usage.js";
import { DynamoUsageStore, type UsageStoreOptions } from "./usage-store.js";

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
  // Until ACTIVE, however long that takes (DynamoDB Local: at once; AWS: seconds).
  for (;;) {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (d.Table?.TableStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every port over the one table: period state itself (period-store.ts), the others by their stores. */
export class DynamoBillingStore extends DynamoPeriodStore implements DeadLetterStore, ConfigStore {
  /** Identity claims, counters and raw events (usage-store.ts). */
  readonly usage: DynamoUsageStore;
  /** Accounts and tariffs, one item each (config-store.ts). */
  readonly configs: DynamoConfigStore;
  /** Accounts with usage not closed yet, by period (unclosed-usage.ts). */
  readonly unclosed: DynamoUnclosedUsageIndex;
  /** Conflicts of periods already closed, for the next close report (late-conflicts.ts). */
  readonly lateConflicts: DynamoLateConflicts;
  /** Dead letters and their per-account index (dead-letter-store.ts). */
  readonly deadLetters: DynamoDeadLetterStore;
  constructor(client: DynamoDBClient, table: string, opts: UsageStoreOptions = {}) {
    super(client, table);
    this.usage = new DynamoUsageStore(client, table, opts);
    this.configs = new DynamoConfigStore(client, table);
    this.unclosed = new DynamoUnclosedUsageIndex(client, table);
    this.lateConflicts = new DynamoLateConflicts(client, table);
    this.deadLetters = new DynamoDeadLetterStore(client, table);
  }

  // ---- DeadLetterStore: dead-letter-store.ts ----
  readonly put: DeadLetterStore["put"] = (letter) => this.deadLetters.put(letter);
  readonly accountLetters: DeadLetterStore["accountLetters"] = (accountId, received) =>
    this.deadLetters.accountLetters(accountId, received);
  readonly list: DeadLetterStore["list"] = () => this.deadLetters.list();
  readonly remove: DeadLetterStore["remove"] = (deadLetterId) => this.deadLetters.remove(deadLetterId);

  // ---- ConfigStore: one item per account and per tariff (config-store.ts) ----
  loadConfig(): Promise<BillingConfig> {
    return this.configs.loadConfig();
  }

  /** `at`: the load's time, from which the changed accounts' new versions are in force (contract §2). */
  saveConfig(config: BillingConfig, at?: number): Promise<void> {
    return this.configs.saveConfig(config, at);
  }
}

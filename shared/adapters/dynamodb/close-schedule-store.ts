/**
 * The close scheduler's state: the configuration's zone index (config-store.ts) and
 * one cursor item per zone.
 *
 * | item        | pk          | sk     | attributes              |
 * |-------------|-------------|--------|-------------------------|
 * | zone cursor | SCHED#close | <zone> | period, done, after?    |
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { CloseScheduleStore, ZoneCursor } from "../../ports/close-queue.js";
import { DynamoConfigStore } from "./config-store.js";

const CURSORS = "SCHED#close";

export class DynamoCloseScheduleStore implements CloseScheduleStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly configs: DynamoConfigStore;
  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.configs = new DynamoConfigStore(client, table);
  }

  zones(): Promise<string[]> {
    return this.configs.zones();
  }

  accountsInZone(zone: string, opts: { after?: string; limit?: number } = {}) {
    return this.configs.accountsInZone(zone, opts);
  }

  async cursor(zone: string): Promise<ZoneCursor | undefined> {
    const r = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk: CURSORS, sk: zone }, ConsistentRead: true }),
    );
    if (!r.Item) return undefined;
    return {
      period: String(r.Item.period),
      done: r.Item.done === true,
      ...(r.Item.after !== undefined ? { after: String(r.Item.after) } : {}),
    };
  }

  async saveCursor(zone: string, cursor: ZoneCursor): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.table, Item: { pk: CURSORS, sk: zone, ...cursor } }),
    );
  }
}

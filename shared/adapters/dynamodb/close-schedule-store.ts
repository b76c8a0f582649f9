/**
 * The close scheduler's state: the configuration's zone index (config-store.ts) and one cursor item
 * per zone (items/close-schedule.ts).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { CloseScheduleStore, ZoneCursor } from "../../ports/close-queue.js";
import { DynamoConfigStore } from "./config-store.js";
import { zoneCursorItem } from "./items/close-schedule.js";

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
      new GetCommand({ TableName: this.table, Key: zoneCursorItem.key({ zone }), ConsistentRead: true }),
    );
    return r.Item ? zoneCursorItem.decode(r.Item) : undefined;
  }

  async saveCursor(zone: string, cursor: ZoneCursor): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.table, Item: zoneCursorItem.item({ zone, ...cursor }) }),
    );
  }
}

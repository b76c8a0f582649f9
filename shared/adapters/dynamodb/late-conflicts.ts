/**
 * Late conflicts (shared/ports/late-conflicts.ts) in the billing table; the items:
 * items/late-conflicts.ts. The per-account item is read by the account's next close (one Query)
 * and deleted once its report lists it; the listing item stays. A late conflict is a re-delivery
 * with other content after its period closed: rare, so neither key is hot; the listing's 16 shards
 * (hash of the account id) spread its writes anyway.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { LateConflict, LateConflictStore } from "../../ports/late-conflicts.js";
import {
  LATE_CONFLICT_SHARDS,
  lateConflictItem,
  lateConflictListItem,
  lateConflictListPk,
  lateConflictsPk,
} from "./items/late-conflicts.js";
import { queryAll } from "./paginate.js";

export class DynamoLateConflicts implements LateConflictStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  async recordLateConflict(c: LateConflict): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: lateConflictListItem.item(c) }));
    await this.doc.send(new PutCommand({ TableName: this.table, Item: lateConflictItem.item(c) }));
  }

  async unreportedLateConflicts(accountId: string): Promise<LateConflict[]> {
    const items = await queryAll(this.doc, this.table, {
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": lateConflictsPk(accountId) },
      ConsistentRead: true,
    });
    return items.map(lateConflictItem.decode);
  }

  async lateConflictsReported(conflicts: readonly LateConflict[]): Promise<void> {
    for (const c of conflicts)
      await this.doc.send(new DeleteCommand({ TableName: this.table, Key: lateConflictItem.key(c) }));
  }

  async listLateConflicts(): Promise<LateConflict[]> {
    const shards = await Promise.all(
      Array.from({ length: LATE_CONFLICT_SHARDS }, (_, s) =>
        queryAll(this.doc, this.table, {
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": lateConflictListPk(s) },
        }),
      ),
    );
    return shards
      .flat()
      .map(lateConflictListItem.decode)
      .sort((a, b) => b.seenAt - a.seenAt);
  }
}

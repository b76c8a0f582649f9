/**
 * Late conflicts (shared/ports/late-conflicts.ts) in the billing table:
 *
 * | item                    | pk                      | sk                                   |
 * |-------------------------|-------------------------|--------------------------------------|
 * | unreported, per account | LATECF#<account>        | <ref period>#<JSON [source,id]>#<hash> |
 * | listing                 | LATECF#LIST#<shard 0-15>| <seenAt, 15 digits>#<account>#<…same> |
 *
 * Attributes: accountId, referencePeriod, source, id, hash, seenAt. The per-account item is read by
 * the account's next close (one Query) and deleted once its report lists it; the listing item stays.
 * A late conflict is a re-delivery with other content after its period closed: rare, so neither
 * key is hot; the listing's 16 shards (hash of the account id) spread its writes anyway.
 */
import { createHash } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { LateConflict, LateConflictStore } from "../../ports/late-conflicts.js";
import { accountShard } from "./account-shards.js";
import { queryAll } from "./paginate.js";

const SHARDS = 16;
const hashed = (s: string) =>
  Buffer.byteLength(s) <= 600 ? s : `sha256:${createHash("sha256").update(s).digest("hex")}`;
const accountPk = (accountId: string) => `LATECF#${hashed(accountId)}`;
const entrySk = (c: LateConflict) =>
  `${c.referencePeriod}#${hashed(JSON.stringify([c.source, c.id]))}#${c.hash}`;

const toConflict = (i: Record<string, unknown>): LateConflict => ({
  accountId: String(i.accountId),
  referencePeriod: String(i.referencePeriod),
  source: String(i.source),
  id: String(i.id),
  hash: String(i.hash),
  seenAt: Number(i.seenAt),
});

export class DynamoLateConflicts implements LateConflictStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly table: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client);
  }

  async recordLateConflict(c: LateConflict): Promise<void> {
    const attributes = { ...c };
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `LATECF#LIST#${accountShard(c.accountId, SHARDS)}`,
          sk: `${String(c.seenAt).padStart(15, "0")}#${hashed(c.accountId)}#${entrySk(c)}`,
          ...attributes,
        },
      }),
    );
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: accountPk(c.accountId), sk: entrySk(c), ...attributes },
      }),
    );
  }

  async unreportedLateConflicts(accountId: string): Promise<LateConflict[]> {
    const items = await queryAll(this.doc, this.table, {
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": accountPk(accountId) },
      ConsistentRead: true,
    });
    return items.map(toConflict);
  }

  async lateConflictsReported(conflicts: readonly LateConflict[]): Promise<void> {
    for (const c of conflicts)
      await this.doc.send(
        new DeleteCommand({ TableName: this.table, Key: { pk: accountPk(c.accountId), sk: entrySk(c) } }),
      );
  }

  async listLateConflicts(): Promise<LateConflict[]> {
    const shards = await Promise.all(
      Array.from({ length: SHARDS }, (_, s) =>
        queryAll(this.doc, this.table, {
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": `LATECF#LIST#${s}` },
        }),
      ),
    );
    return shards
      .flat()
      .map(toConflict)
      .sort((a, b) => b.seenAt - a.seenAt);
  }
}

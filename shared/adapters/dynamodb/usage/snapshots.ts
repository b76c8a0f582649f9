/** Carry-over snapshots: the state an account carries into a period, stored at the period's start. */
import { randomUUID } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { DeleteItemCommand, type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { mapLimit } from "../../../core/map-limit.js";
import type { CarriedFacts } from "../../../core/rating/carry.js";
import type { PeriodId } from "../../../core/time.js";
import { utf8Parts } from "../../../core/utf8.js";
import { checkedCompressed, MAX_PAYLOAD_BYTES } from "../item-size.js";
import {
  SNAPSHOT_HEAD_SK,
  snapshotHeadItem,
  snapshotPartItem,
  snapshotPartsOf,
  snapshotsPk,
} from "../items/usage.js";
import { itemsOfPk } from "./keys.js";

/** UTF-8 bytes of raw JSON per snapshot part before compression (item-size.ts). */
const MAX_SNAPSHOT_PART_JSON = MAX_PAYLOAD_BYTES;

/**
 * Carry-over snapshots: the snapshot at the start of a period, as deflated JSON parts of at most
 * 300 KB each under one partition, and a HEAD item naming the write whose parts count. The parts
 * are written first and the HEAD last, so a reader (one consistent Query of the partition) sees
 * either the previous complete snapshot or the new one; parts of older writes are deleted after.
 */
export class DynamoSnapshotStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async snapshotAt(accountId: string, period: PeriodId): Promise<CarriedFacts | undefined> {
    const items = await itemsOfPk({ client: this.client, table: this.table }, snapshotsPk(accountId, period));
    const headItem = items.find((i) => i.sk?.S === SNAPSHOT_HEAD_SK);
    if (!headItem) return undefined;
    const head = snapshotHeadItem.av.decode(headItem);
    // A snapshot of one part is held by the HEAD itself: one item to write and read.
    if (head.inline) return JSON.parse(inflateRawSync(head.inline).toString("utf8")) as CarriedFacts;
    const parts = items
      .filter((i) => i.sk?.S?.startsWith(snapshotPartsOf(head.write)))
      .map(snapshotPartItem.av.decode)
      .sort((a, b) => a.n - b.n);
    if (parts.length !== head.parts)
      throw new Error(`snapshot ${accountId} ${period}: ${parts.length} parts, head says ${head.parts}`);
    // The parts are cut between whole characters; their bytes are joined before decoding all the same.
    const json = Buffer.concat(parts.map((p) => inflateRawSync(p.deflated))).toString("utf8");
    return JSON.parse(json) as CarriedFacts;
  }

  async putSnapshot(accountId: string, snapshot: CarriedFacts): Promise<void> {
    const { period } = snapshot;
    const write = randomUUID();
    // Parts of at most MAX_SNAPSHOT_PART_JSON bytes, cut between whole characters, each compressed
    // and checked: a snapshot of any size and any text closes.
    const parts = utf8Parts(JSON.stringify(snapshot), MAX_SNAPSHOT_PART_JSON).map((p, n) =>
      checkedCompressed(`snapshot part ${n} of ${accountId} ${period}`, deflateRawSync(p)),
    );
    // One part: inline in the HEAD, one write; more: the parts first, then the HEAD naming them.
    const inline = parts.length === 1 ? parts[0] : undefined;
    if (!inline)
      await mapLimit(
        parts.map((deflated, n) => ({ deflated, n })),
        4,
        (part) =>
          this.client.send(
            new PutItemCommand({
              TableName: this.table,
              Item: snapshotPartItem.av.item({ accountId, period, write, ...part }),
            }),
          ),
      );
    // The previous head comes back with the put (no read before it): its parts are deleted after.
    const old = await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: snapshotHeadItem.av.item({
          accountId,
          period,
          write,
          parts: inline ? 0 : parts.length,
          events: snapshot.events.length,
          inline,
        }),
        ReturnValues: "ALL_OLD",
      }),
    );
    const before = old.Attributes && snapshotHeadItem.av.decode(old.Attributes);
    if (before)
      for (let n = 0; n < before.parts; n++)
        await this.client.send(
          new DeleteItemCommand({
            TableName: this.table,
            Key: snapshotPartItem.av.key({ accountId, period, write: before.write, n }),
          }),
        );
  }
}

/** Carry-over snapshots: the state an account carries into a period, stored at the period's start. */
import { randomUUID } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { DeleteItemCommand, type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { mapLimit } from "../../../core/map-limit.js";
import type { CarriedFacts } from "../../../core/rating/carry.js";
import type { PeriodId } from "../../../core/time.js";
import { utf8Parts } from "../../../core/utf8.js";
import { checkedCompressed, MAX_PAYLOAD_BYTES } from "../item-size.js";
import { itemsOfPk, N, S } from "./keys.js";

/** UTF-8 bytes of raw JSON per snapshot part before compression (item-size.ts). */
const MAX_SNAPSHOT_PART_JSON = MAX_PAYLOAD_BYTES;
const snapPk = (account: string, period: PeriodId) => `SNAP#${account}#${period}`;

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
    const items = await itemsOfPk({ client: this.client, table: this.table }, snapPk(accountId, period));
    const head = items.find((i) => i.sk?.S === "HEAD");
    if (!head) return undefined;
    // A snapshot of one part is held by the HEAD itself: one item to write and read.
    if (head.z?.B) return JSON.parse(inflateRawSync(head.z.B).toString("utf8")) as CarriedFacts;
    const write = head.w?.S ?? "";
    const parts = items
      .filter((i) => i.sk?.S?.startsWith(`PART#${write}#`))
      .sort((a, b) => Number(a.n?.N ?? 0) - Number(b.n?.N ?? 0));
    if (parts.length !== Number(head.parts?.N ?? -1))
      throw new Error(`snapshot ${accountId} ${period}: ${parts.length} parts, head says ${head.parts?.N}`);
    // The parts are cut between whole characters; their bytes are joined before decoding all the same.
    const json = Buffer.concat(parts.map((p) => inflateRawSync(p.z?.B ?? new Uint8Array()))).toString("utf8");
    return JSON.parse(json) as CarriedFacts;
  }

  async putSnapshot(accountId: string, snapshot: CarriedFacts): Promise<void> {
    const pk = S(snapPk(accountId, snapshot.period));
    const write = randomUUID();
    // Parts of at most MAX_SNAPSHOT_PART_JSON bytes, cut between whole characters, each compressed
    // and checked: a snapshot of any size and any text closes.
    const parts = utf8Parts(JSON.stringify(snapshot), MAX_SNAPSHOT_PART_JSON).map((p, n) =>
      checkedCompressed(`snapshot part ${n} of ${accountId} ${snapshot.period}`, deflateRawSync(p)),
    );
    // One part: inline in the HEAD, one write; more: the parts first, then the HEAD naming them.
    const inline = parts.length === 1 ? { z: { B: parts[0]! } } : undefined;
    if (!inline)
      await mapLimit(
        parts.map((p, n) => ({ p, n })),
        4,
        ({ p, n }) =>
          this.client.send(
            new PutItemCommand({
              TableName: this.table,
              Item: { pk, sk: S(`PART#${write}#${n}`), n: N(n), z: { B: p } },
            }),
          ),
      );
    // The previous head comes back with the put (no read before it): its parts are deleted after.
    const old = await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          pk,
          sk: S("HEAD"),
          w: S(write),
          parts: N(inline ? 0 : parts.length),
          events: N(snapshot.events.length),
          ...inline,
        },
        ReturnValues: "ALL_OLD",
      }),
    );
    const before = old.Attributes?.w?.S;
    if (before !== undefined && old.Attributes)
      for (let n = 0; n < Number(old.Attributes.parts?.N ?? 0); n++)
        await this.client.send(
          new DeleteItemCommand({ TableName: this.table, Key: { pk, sk: S(`PART#${before}#${n}`) } }),
        );
  }
}

/**
 * Sizes are UTF-8 bytes (issue 22 item 1): valid stateful usage whose extra `data` fields hold 3-byte
 * (CJK) and 4-byte (emoji) characters, ~250 KB per event, goes through the real ingest (the SQS
 * server, the event-source poller, DynamoDB Local) and closes exactly — no dead letter — in single
 * bodies and in a batch body. Its raw-event pages are sized in bytes (a page sized in characters is
 * ~750 KB of JSON and DynamoDB refuses it), and a carry-over snapshot of such text is split between
 * whole characters and under the item limit.
 */
import { DeleteItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { ITEM_LIMIT_BYTES } from "../../shared/adapters/dynamodb/item-size.js";
import {
  SNAPSHOT_HEAD_SK,
  snapshotPartItem,
  snapshotsPk,
} from "../../shared/adapters/dynamodb/items/usage.js";
import { DynamoSnapshotStore } from "../../shared/adapters/dynamodb/usage-store.js";
import { MAX_BODY_BYTES } from "../../shared/app/ingest-usage.js";
import type { CarriedFacts } from "../../shared/core/rating/carry.js";
import { configOf, stdTariffs, useLocalSystem } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "voice.minute", unitPrice: "0.01" }]);

/** Deterministic text of at most `bytes` UTF-8 bytes from a character range (xorshift: it barely compresses). */
function text(from: number, to: number, bytes: number, seed: number): string {
  let x = seed | 1;
  const out: string[] = [];
  let size = 0;
  for (;;) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const c = String.fromCodePoint(from + (x % (to - from)));
    const b = Buffer.byteLength(c);
    if (size + b > bytes) return out.join("");
    out.push(c);
    size += b;
  }
}
const cjk = (bytes: number, seed: number) => text(0x4e00, 0x9fff, bytes, seed);
const emoji = (bytes: number, seed: number) => text(0x1f300, 0x1faff, bytes, seed);

const call = (id: string, minute: number, note: string) => ({
  specversion: "1.0",
  id,
  source: "/voice/eu-1",
  type: "voice.call",
  subject: "acme",
  time: `2025-07-02T09:${String(minute).padStart(2, "0")}:00Z`,
  // Extra `data` fields are kept with the raw event (the contract passes them through).
  data: {
    callId: id,
    service: "calls",
    direction: "outbound",
    country: "TR",
    answered: true,
    durationSeconds: 60,
    transcript: note,
  },
});

describe("usage of multi-byte text, sized in UTF-8 bytes (DynamoDB Local, the SQS server)", () => {
  const scenario = useLocalSystem({ at: "2025-07-03T00:00:00Z", config: configOf(tariffs) });

  it("~250 KB voice calls of CJK and emoji, single bodies and a batch body, are stored and close exactly", async () => {
    const singles = [
      ...Array.from({ length: 4 }, (_, i) => call(`cjk-${i}`, i, cjk(250_000, i + 1))),
      ...Array.from({ length: 3 }, (_, i) => call(`emoji-${i}`, 10 + i, emoji(250_000, i + 11))),
    ].map((e) => JSON.stringify(e));
    // One body holding two events (≈ 250 KB in all): an emoji one and a CJK one.
    const batch = JSON.stringify([
      call("batch-emoji", 20, emoji(170_000, 21)),
      call("batch-cjk", 21, cjk(75_000, 22)),
    ]);
    for (const b of [...singles, batch]) {
      expect(Buffer.byteLength(b)).toBeGreaterThan(240_000);
      expect(Buffer.byteLength(b)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    }
    // The embedded SQS server takes every body SQS takes: characters above U+FFFF included.
    const sent = await scenario.system.send([...singles, batch]);
    expect(sent.refused).toEqual([]);
    // All in one handler call: their pages share one attempt (sized in characters, 3 events made
    // one page of ~750 KB that DynamoDB refused, and the whole batch was dead-lettered).
    const tally = await scenario.system.drain(undefined, { batchSize: 10 });
    expect(tally).toEqual({ stored: 9, duplicate: 0, conflict: 0, "dead-lettered": 0, failed: 0 });
    expect(await scenario.system.store.list()).toEqual([]);
    expect(await scenario.system.failedMessages.listAll()).toEqual([]);

    // Every page item is under DynamoDB's limit, and the raw events read back whole.
    const pages = [];
    for (let s = 0; s < 16; s++) {
      const r = await scenario.system.dynamodb.send(
        new QueryCommand({
          TableName: scenario.system.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": { S: `EVT#acme#2025-07#${s}` } },
        }),
      );
      pages.push(...(r.Items ?? []));
    }
    expect(pages.length).toBeGreaterThanOrEqual(3);
    for (const p of pages) expect(p.z?.B?.length ?? 0).toBeLessThan(ITEM_LIMIT_BYTES);

    const reports = await scenario.closeAt("2025-08-01T12:00:00Z", "2025-07", ["acme"]);
    expect(reports).toHaveLength(1);
    expect(await scenario.system.store.list()).toEqual([]);
    const lines = (await scenario.lines({ period: "2025-07", accountId: "acme" })).filter(
      (l) => l.product === "voice.minute",
    );
    expect(lines.map((l) => [l.line_type, l.quantity, l.unit_price, l.amount])).toEqual([
      ["usage", "9", "0.01", "0.09"],
    ]);
  }, 300_000);

  it("a carry-over snapshot of 4-byte characters is split between whole characters, each part under the item limit", async () => {
    const snapshots = new DynamoSnapshotStore(scenario.system.dynamodb, scenario.system.tableName);
    // ~2 MB of JSON, 300,000 UTF-16 units of it ~900 KB: parts cut by characters were over the
    // item limit, and the first cut fell inside the emoji's surrogate pair (read back as U+FFFD).
    const head = JSON.stringify({ period: "2025-09", events: [{ note: "" }] }).indexOf('""') + 1;
    const before = cjk(3 * (299_999 - head), 7);
    expect(before.length).toBe(299_999 - head);
    const note = `${before}😀${cjk(1_200_000, 8)}`;
    const snapshot = { period: "2025-09", events: [{ note }] } as unknown as CarriedFacts;
    await snapshots.putSnapshot("acme", snapshot);
    expect(await snapshots.snapshotAt("acme", "2025-09")).toEqual(snapshot);
    const items = await scenario.system.dynamodb.send(
      new QueryCommand({
        TableName: scenario.system.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: snapshotsPk("acme", "2025-09") } },
      }),
    );
    const parts = (items.Items ?? [])
      .filter((i) => i.sk?.S !== SNAPSHOT_HEAD_SK)
      .map(snapshotPartItem.av.decode);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const p of parts) expect(p.deflated.length).toBeLessThan(ITEM_LIMIT_BYTES);
    for (const i of items.Items ?? [])
      await scenario.system.dynamodb.send(
        new DeleteItemCommand({ TableName: scenario.system.tableName, Key: { pk: i.pk!, sk: i.sk! } }),
      );
  }, 120_000);
});

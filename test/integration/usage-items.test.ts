/**
 * The usage items outside the fold's bundles, on DynamoDB Local, through their codecs: what a bulk
 * load writes (counters one item each, a shard's counted events without counters, pages, markers
 * naming their shards) reads back exactly; and a fold run whose counters outgrow the bundle gives
 * each overflowing counter its own item, incremented once even when the run is applied again.
 */
import { QueryCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { BUNDLE_SK, MAX_BUNDLE_JSON } from "../../shared/adapters/dynamodb/fold/counter-bundle-codec.js";
import { ctrPk } from "../../shared/adapters/dynamodb/items/usage-period.js";
import { bulkLoadUsage } from "../../shared/adapters/dynamodb/usage-bulk-load.js";
import { dec } from "../../shared/core/money.js";
import { type CounterDelta, counterKey } from "../../shared/core/rating/counters.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import type { FoldedCounter, FoldedGroup } from "../../shared/core/usage-fold.js";
import { shardsOf } from "../../shared/ports/usage-store.js";
import { useDynamoDbLocal } from "../support/scenario.js";
import { sms } from "../support/usage-messages.js";

const dynamo = useDynamoDbLocal();

const charge = (country: string, quantity: string, events: number): CounterDelta => ({
  kind: "charge",
  product: "sms.mt",
  dimensions: { country },
  version: "2025-01-01T00:00:00Z",
  reason: "",
  quantity: dec(quantity),
  events,
});
const ledger = (id: string): LedgerEvent =>
  ({ ...sms(id, { subject: "acme" }), t: Date.parse("2025-07-02T09:00:00Z") }) as unknown as LedgerEvent;
const shown = (counters: readonly CounterDelta[]) =>
  counters.map((c) => `${c.dimensions.country}=${c.quantity.toFixed()}/${c.events}`).sort();

describe("usage items outside the bundles", () => {
  it("a bulk load reads back as stored: counters, a shard's counted events, pages, the markers' shards", async () => {
    const { name, store } = await dynamo.table("bulk");
    await bulkLoadUsage(dynamo.client, name, [
      {
        accountId: "acme",
        period: "2025-07",
        counters: {
          deltas: [charge("TR", "1.25", 2), charge("DE", "0.5", 1), charge("TR", "1", 1)],
          events: 5,
        },
        counterShard: 3,
        events: [ledger("e1"), ledger("e2")],
        pageShards: [1, 2],
      },
      // Counted events without a counter (all uncharged): the shard's `#EVENTS` item.
      { accountId: "beta", period: "2025-07", counters: { deltas: [], events: 4 }, counterShard: 0 },
    ]);
    const markers = await store.usage.usageMarkers("acme");
    // One page (two small events): only its shard is named.
    expect(markers).toEqual([{ period: "2025-07", counterShards: [3], pageShards: [1], noConflicts: true }]);
    const acme = await store.usage.countersOf("acme", "2025-07", shardsOf(markers));
    expect([acme.events, shown(acme.counters)]).toEqual([5, ["DE=0.5/1", "TR=2.25/3"]]);
    const events = await store.usage.statefulEventsOf("acme", ["2025-07"], shardsOf(markers));
    expect(events.map((e) => e.id)).toEqual(["e1", "e2"]);
    const beta = await store.usage.countersOf(
      "beta",
      "2025-07",
      shardsOf(await store.usage.usageMarkers("beta")),
    );
    expect([beta.events, beta.counters]).toEqual([4, []]);
  });

  it("a fold run whose counters outgrow the bundle: each overflowing counter its own item, added once on a redo", async () => {
    const { name, store } = await dynamo.table("overflow");
    // ≈ 520 UTF-8 bytes of JSON per counter: 600 of them are past the bundle's bound.
    const counters = new Map<string, FoldedCounter>();
    for (let i = 0; i < 600; i++) {
      const key = counterKey(charge(`${"x".repeat(450)}${i}`, "0", 0));
      counters.set(key, { key, quantity: dec("0.5"), events: 2, newest: 1000 + i });
    }
    expect(600 * 520).toBeGreaterThan(MAX_BUNDLE_JSON);
    const group: FoldedGroup = {
      accountId: "acme",
      period: "2025-07",
      checks: new Map(),
      counted: 1200,
      counters,
      raw: [],
    };
    const at = Date.parse("2025-07-03T00:00:00Z");
    await store.usage.journal.applyRun(0, 1, at, [group]);
    // The same run again (a redo after a crash, a second fold at once): nothing added twice.
    await store.usage.journal.applyRun(0, 1, at, [group]);
    const items = await dynamo.client.send(
      new QueryCommand({
        TableName: name,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: ctrPk("acme", "2025-07", 0) } },
        ProjectionExpression: "sk",
      }),
    );
    const own = (items.Items ?? []).filter((i) => i.sk?.S !== BUNDLE_SK);
    expect(own.length).toBeGreaterThan(0);
    expect(own.length).toBeLessThan(600);
    const read = await store.usage.countersOf("acme", "2025-07");
    expect(read.counters).toHaveLength(600);
    expect(new Set(read.counters.map((c) => `${c.quantity.toFixed()}/${c.events}`))).toEqual(
      new Set(["0.5/2"]),
    );
    expect([read.events, read.newestEventAt]).toEqual([1200, 1599]);
  });
});

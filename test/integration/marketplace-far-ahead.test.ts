/**
 * The hourly Marketplace reporter under a clock that jumps far ahead (as `billing simulate` moves
 * it): no work grows with the distance. On DynamoDB Local and the local Metering API: an event a
 * year ahead is reported after a handful of runs (the hours visited are counted, not wall time),
 * and skipping the quiet hours reports exactly what a run every hour reports.
 */
import { afterAll, describe, expect, it } from "vitest";
import { LocalMeteringApi, meteringResourcesOf } from "../../local/metering-api.js";
import { DynamoMarketplaceStore } from "../../shared/adapters/dynamodb/marketplace-store.js";
import { HttpMeteringClient } from "../../shared/adapters/marketplace/http-metering-client.js";
import {
  reportMarketplaceUsage,
  reportMarketplaceUsageUntil,
} from "../../shared/app/report-marketplace-usage.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { at, azureAccount, runEveryHour, smsOf, storeEvents } from "../support/marketplace-world.js";
import { configOf, stdTariffs, useDynamoDbLocal } from "../support/scenario.js";

const config = configOf(stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }]), [
  azureAccount("contoso", "res-contoso", { name: "Contoso", included: { sms_mt: 1 } }),
]);
const sms = (time: string) => smsOf("contoso", time);

const dynamo = useDynamoDbLocal();
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const s of stops.splice(0)) await s();
});

async function world(start: string) {
  const { name: table, store: billing } = await dynamo.table("far");
  const clock = new VirtualClock(at(start));
  const api = new LocalMeteringApi({ clock, resources: meteringResourcesOf(config.accounts) });
  const server = await api.start();
  stops.push(server.stop);
  const ledger = billing.usage;
  let runs = 0;
  const deps = {
    ledger,
    store: new DynamoMarketplaceStore(dynamo.client, table),
    client: new HttpMeteringClient({ baseUrl: server.url }),
    clock,
    config: async () => config,
  };
  return {
    clock,
    api,
    deps,
    runs: () => runs,
    // Straight into the usage store (as ingest would store them), past the 24-hour receipt check.
    ingest: (events: readonly LedgerEvent[]) => storeEvents(ledger, billing, config, events, clock.now()),
    /** A run at every hour boundary up to `to` (the old walk). */
    async walk(to: number) {
      runs += (await runEveryHour(clock, to, () => reportMarketplaceUsage(deps, { fromHour: at(start) })))
        .length;
    },
    async skip(to: number) {
      const { visited } = await reportMarketplaceUsageUntil(deps, to, { fromHour: at(start) });
      runs += visited.length;
    },
  };
}

const accepted = (api: LocalMeteringApi) =>
  api
    .accepted()
    .map((e) => `${e.effectiveStartTime} ${e.dimension} ${e.quantity}`)
    .sort();

describe("the Marketplace reporter on a clock that jumps far ahead", () => {
  it("an event one year ahead is reported after a bounded number of runs", async () => {
    const w = await world("2025-07-02T09:05:00Z");
    await w.ingest([
      sms("2025-07-02T09:10:00Z"),
      sms("2025-07-02T09:20:00Z"),
      sms("2026-07-02T10:30:00Z"),
      sms("2026-07-02T10:40:00Z"), // one above July 2026's included 1
    ]);
    await w.skip(at("2026-07-02T12:00:00Z"));
    expect(w.runs()).toBe(2); // the first hour and the event's hour, not 8,763 hourly runs
    expect(w.clock.now()).toBe(at("2026-07-02T12:00:00Z"));
    expect(accepted(w.api)).toEqual(["2025-07-02T09:00:00Z sms_mt 1", "2026-07-02T10:00:00Z sms_mt 1"]);
  });

  it("skipping quiet hours reports what a run every hour reports, late usage included", async () => {
    const first = [sms("2025-07-02T09:10:00Z"), sms("2025-07-02T09:20:00Z"), sms("2025-07-02T11:40:00Z")];
    const second = [sms("2025-07-02T10:15:00Z"), sms("2025-07-02T16:05:00Z")]; // the first one arrives late
    const walked = await world("2025-07-02T09:05:00Z");
    const skipped = await world("2025-07-02T09:05:00Z");
    for (const [w, advance] of [
      [walked, walked.walk],
      [skipped, skipped.skip],
    ] as const) {
      await w.ingest(first);
      await advance(at("2025-07-02T13:30:00Z"));
      await w.ingest(second);
      await advance(at("2025-07-03T06:00:00Z"));
    }
    expect(accepted(skipped.api)).toEqual(accepted(walked.api));
    expect(accepted(skipped.api)).toEqual([
      "2025-07-02T09:00:00Z sms_mt 1",
      "2025-07-02T11:00:00Z sms_mt 1",
      "2025-07-02T13:00:00Z sms_mt 1", // the late 10:15 event, in the next hour reported
      "2025-07-02T16:00:00Z sms_mt 1",
    ]);
    expect(walked.runs()).toBe(21);
    expect(skipped.runs()).toBeLessThan(8);
  });
});

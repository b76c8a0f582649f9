/**
 * The hourly Marketplace reporter under a clock that jumps far ahead (as `billing simulate` moves
 * it): no work grows with the distance. On DynamoDB Local and the local Metering API: an event a
 * year ahead is reported after a handful of runs (the hours visited are counted, not wall time),
 * and skipping the quiet hours reports exactly what a run every hour reports.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoDbLocal, startDynamoDbLocal } from "../../local/dynamodb-local.js";
import { LocalMeteringApi, meteringResourcesOf } from "../../local/metering-api.js";
import { DynamoBillingStore, ensureBillingTable } from "../../shared/adapters/dynamodb/billing-table.js";
import { DynamoMarketplaceStore } from "../../shared/adapters/dynamodb/marketplace-store.js";
import { HttpMeteringClient } from "../../shared/adapters/marketplace/http-metering-client.js";
import {
  reportMarketplaceUsage,
  reportMarketplaceUsageUntil,
} from "../../shared/app/report-marketplace-usage.js";
import { configIndex, parseAccounts, parseTariffs } from "../../shared/core/config.js";
import { contributionOf } from "../../shared/core/rating/counters.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { HOUR } from "../../shared/core/time.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";
import { ev } from "../support/events.js";

const tariffs = parseTariffs([
  {
    tariffId: "std",
    currency: "EUR",
    versions: [
      {
        publishedAt: "2024-12-01T00:00:00Z",
        effectiveFrom: "2025-01-01T00:00:00Z",
        rates: [{ product: "sms.mt", unitPrice: "0.05" }],
      },
    ],
  },
]);
const accounts = parseAccounts(
  [
    {
      accountId: "contoso",
      name: "Contoso",
      currency: "EUR",
      tariffId: "std",
      billingChannel: "azure-marketplace",
      azure: {
        resourceId: "res-contoso",
        planId: "plan-std",
        dimensions: { "sms.mt": "sms_mt" },
        includedQuantities: { sms_mt: 1 },
      },
    },
  ],
  tariffs,
);
const at = (iso: string) => Date.parse(iso);
const sms = (time: string) =>
  ev("sms.mt", time, { to: "905320000000", country: "TR", status: "submitted" }, { subject: "contoso" });

let dynamo: DynamoDbLocal;
let ddb: DynamoDBClient;
let tables = 0;
const stops: (() => Promise<void>)[] = [];
beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
  ddb = dynamoClient({ region: "us-east-1", dynamodbEndpoint: dynamo.endpoint });
});
afterAll(async () => {
  for (const s of stops.splice(0)) await s();
  ddb?.destroy();
  await dynamo?.stop();
});

async function world(start: string) {
  const table = `far-${++tables}`;
  await ensureBillingTable(ddb, table);
  const clock = new VirtualClock(at(start));
  const api = new LocalMeteringApi({ clock, resources: meteringResourcesOf(accounts) });
  const server = await api.start();
  stops.push(server.stop);
  const billing = new DynamoBillingStore(ddb, table);
  const ledger = billing.usage;
  const index = configIndex({ accounts, tariffs });
  let runs = 0;
  const deps = {
    ledger,
    store: new DynamoMarketplaceStore(ddb, table),
    client: new HttpMeteringClient({ baseUrl: server.url }),
    clock,
    config: async () => ({ accounts, tariffs }),
  };
  return {
    clock,
    api,
    deps,
    runs: () => runs,
    async ingest(events: readonly LedgerEvent[]) {
      // Straight into the usage store (as ingest would store them), past the 24-hour receipt check.
      await ledger.ingest(
        events.map((e) => {
          const account = index.account(e.subject);
          if (!account) throw new Error(`no account ${e.subject}`);
          return {
            event: e,
            hash: e.id,
            accountId: account.accountId,
            contribution: contributionOf(account, index.tariffOf(account), e),
            body: JSON.stringify(e),
          };
        }),
        clock.now(),
      );
    },
    /** A run at every hour boundary up to `to` (the old walk). */
    async walk(to: number) {
      for (let b = Math.floor(clock.now() / HOUR) * HOUR + HOUR; b <= to; b += HOUR) {
        clock.advanceTo(b);
        await reportMarketplaceUsage(deps, { fromHour: at(start) });
        runs += 1;
      }
      clock.advanceTo(to);
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

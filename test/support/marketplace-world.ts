/**
 * The Marketplace tests' shared world (issue 13): Azure accounts, ledger events stored straight into
 * the usage store (as ingestion stores them, past its 24-hour receipt check) and the reporter run at
 * every hour boundary the virtual clock passes, as the hourly schedule runs it.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterEach, expect } from "vitest";
import type { LocalMeteringApi } from "../../local/metering-api.js";
import type { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { DynamoMarketplaceStore } from "../../shared/adapters/dynamodb/marketplace-store.js";
import type { DynamoUsageStore } from "../../shared/adapters/dynamodb/usage-store.js";
import { foldAccounts } from "../../shared/app/fold-usage.js";
import {
  type MarketplaceReporterDeps,
  type MarketplaceRunReport,
  reportMarketplaceUsage,
} from "../../shared/app/report-marketplace-usage.js";
import { type BillingConfig, configIndex } from "../../shared/core/config.js";
import { contributionOf } from "../../shared/core/rating/counters.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { HOUR } from "../../shared/core/time.js";
import type { VirtualClock } from "../../shared/ports/clock.js";
import type { PeriodStore } from "../../shared/ports/storage.js";
import { ev } from "./events.js";
import { useDynamoDbLocal } from "./scenario.js";

export const at = (iso: string) => Date.parse(iso);

/** An Azure Marketplace account (rating-rules §6) on tariff `std`, plan `plan-std`. */
export const azureAccount = (
  accountId: string,
  resourceId: string,
  {
    dimensions = { "sms.mt": "sms_mt" },
    included = {},
    name = accountId,
  }: { dimensions?: Record<string, string>; included?: Record<string, number>; name?: string } = {},
) => ({
  accountId,
  name,
  currency: "EUR",
  tariffId: "std",
  billingChannel: "azure-marketplace" as const,
  azure: { resourceId, planId: "plan-std", dimensions, includedQuantities: included },
});

/** One SMS to Turkey, submitted, by `subject`. */
export const smsOf = (subject: string, time: string) =>
  ev("sms.mt", time, { to: "905320000000", country: "TR", status: "submitted" }, { subject });

/**
 * Stores the events in the usage store as ingestion would (each once, by source and id), then folds
 * their accounts' journals as the local run does (the counters and pages the reporter reads).
 */
export async function storeEvents(
  ledger: DynamoUsageStore,
  periods: PeriodStore,
  config: BillingConfig,
  events: readonly LedgerEvent[],
  now: number,
): Promise<void> {
  const index = configIndex(config);
  for (const e of events) {
    const account = index.account(e.subject);
    if (!account) throw new Error(`unknown account ${e.subject}`);
    const contribution = contributionOf(account, index.tariffOf(account), e);
    await ledger.ingest(
      [
        {
          event: e,
          hash: `${e.source}#${e.id}`,
          accountId: account.accountId,
          contribution,
          body: JSON.stringify(e),
        },
      ],
      now,
    );
  }
  await foldAccounts(
    events.map((e) => e.subject),
    { journal: ledger.journal, periods, clock: { now: () => now } },
  );
}

/** Runs `run` at every hour boundary after the clock's time up to `until`, then moves the clock to `until`. */
export async function runEveryHour<R>(
  clock: VirtualClock,
  until: number,
  run: () => Promise<R>,
): Promise<R[]> {
  const reports: R[] = [];
  for (let b = Math.floor(clock.now() / HOUR) * HOUR + HOUR; b <= until; b += HOUR) {
    clock.advanceTo(b);
    reports.push(await run());
  }
  clock.advanceTo(until);
  return reports;
}

/** [effectiveStartTime, dimension, quantity, outcome] of every event the runs sent, account first when asked. */
export const sentEvents = (reports: readonly MarketplaceRunReport[], withAccount = false) =>
  reports.flatMap((r) =>
    r.accounts.flatMap((a) =>
      a.events.map((e) => [
        ...(withAccount ? [a.accountId] : []),
        e.effectiveStartTime,
        e.dimension,
        e.quantity,
        e.outcome,
      ]),
    ),
  );

/** At most one accepted event per resource, dimension and hour at the Marketplace. */
export function expectNoDoubleReport(api: LocalMeteringApi): void {
  const keys = api
    .accepted()
    .map((e) => `${e.resourceId}|${e.dimension}|${Date.parse(e.effectiveStartTime)}`);
  expect(new Set(keys).size).toBe(keys.length);
}

/** Stops what a test started (its Metering API server) after each test; returns where to register them. */
export function stopAfterEach(): (() => Promise<void>)[] {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });
  return stops;
}

/** The reporter over a fresh table: what the Marketplace tests drive. */
export interface LocalReporter {
  /** The whole table's store (closes, periods), over the same client as the reporter. */
  readonly billing: DynamoBillingStore;
  readonly ledger: DynamoUsageStore;
  readonly store: DynamoMarketplaceStore;
  readonly deps: MarketplaceReporterDeps;
  /** Stores the events as ingestion would, at the clock's time (`storeEvents`). */
  ingest(events: readonly LedgerEvent[]): Promise<void>;
  /** One run at the current clock. */
  run(): Promise<MarketplaceRunReport>;
  /** Runs the reporter at every hour boundary the clock passes up to `until` (as the hourly schedule does). */
  runHourly(until: string): Promise<MarketplaceRunReport[]>;
}

/**
 * The Marketplace tests' local parts: DynamoDB Local for the enclosing block (or file), `serve` (a
 * local Metering API's HTTP server, stopped after the test) and `reporter` (over a fresh table).
 */
export function useMarketplaceLocal() {
  const dynamo = useDynamoDbLocal();
  const stops = stopAfterEach();
  return {
    /** Starts the API's server for this test; its URL. */
    /** A new DynamoDB client on the same DynamoDB Local (destroyed with the block). */
    newClient: () => dynamo.newClient(),
    async serve(api: LocalMeteringApi): Promise<string> {
      const server = await api.start();
      stops.push(server.stop);
      return server.url;
    },
    /**
     * The reporter of `config` on a fresh table `prefix-N` (usage ledger and Marketplace store),
     * calling the Metering API through `client`, its runs starting from `fromHour`; `dynamodb`: the
     * DynamoDB client the table is read through (default: the block's).
     */
    async reporter(
      prefix: string,
      {
        config,
        clock,
        client,
        fromHour,
        dynamodb = dynamo.client,
      }: {
        config: BillingConfig;
        clock: VirtualClock;
        client: MarketplaceReporterDeps["client"];
        fromHour: number;
        dynamodb?: DynamoDBClient;
      },
    ): Promise<LocalReporter> {
      const { name, store: billing } = await dynamo.table(prefix, dynamodb);
      const ledger = billing.usage;
      const store = new DynamoMarketplaceStore(dynamodb, name);
      const deps: MarketplaceReporterDeps = { ledger, store, client, clock, config: async () => config };
      const run = () => reportMarketplaceUsage(deps, { fromHour });
      return {
        billing,
        ledger,
        store,
        deps,
        ingest: (events) => storeEvents(ledger, billing, config, events, clock.now()),
        run,
        runHourly: (until) => runEveryHour(clock, at(until), run),
      };
    },
  };
}

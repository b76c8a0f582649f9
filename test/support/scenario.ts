/**
 * The scenario vocabulary of the integration tests (issue 13; as Lago's scenarios_helper): a
 * configuration in a line (`stdTariffs`, `configOf`), typed usage message bodies (`usageBody`), and
 * one local system per describe block (`useLocalSystem`: started and configured before its tests,
 * stopped after) driven by `travelTo`, `ingest`, `closePeriod` and `lines`, or one DynamoDB Local
 * (`useDynamoDbLocal`) for the tests that call the use cases themselves. Real parts only.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll } from "vitest";
import {
  type LocalBillingSystem,
  type LocalSystemOptions,
  startLocalBillingSystem,
} from "../../local/billing-system.js";
import { type DynamoDbLocal, startDynamoDbLocal } from "../../local/dynamodb-local.js";
import { DynamoBillingStore, ensureBillingTable } from "../../shared/adapters/dynamodb/billing-table.js";
import type { AccountInput } from "../../shared/contract/accounts.js";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import type { Tariff } from "../../shared/contract/tariffs.js";
import type { AccountCloseReport } from "../../shared/core/close-report.js";
import { type BillingConfig, parseAccounts } from "../../shared/core/config.js";
import type { UsageEventType } from "../../shared/core/products/index.js";
import type { PeriodId } from "../../shared/core/time.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";
import type { EnvelopeInput, EventInput } from "./events.js";
import { allLines } from "./table-scans.js";

export { stdTariffs } from "./events.js";

// -------------------------------------------------------------------------------------------------
// Configuration
// -------------------------------------------------------------------------------------------------

/**
 * The configuration of these accounts on these tariffs; an id alone is an EUR account of that name
 * on the first tariff.
 */
export function configOf(
  given: readonly Tariff[],
  accounts: readonly (string | Partial<AccountInput>)[] = ["acme"],
): BillingConfig {
  const tariffs = [...given];
  const first = tariffs[0]!;
  const raw = accounts.map((a) => {
    const over = typeof a === "string" ? { accountId: a } : a;
    const id = over.accountId ?? "acme";
    return { accountId: id, name: id, currency: first.currency, tariffId: first.tariffId, ...over };
  });
  return { tariffs, accounts: parseAccounts(raw, tariffs) };
}

// -------------------------------------------------------------------------------------------------
// Usage messages
// -------------------------------------------------------------------------------------------------

/**
 * One usage message body (a CloudEvent, contract §1), `data` typed by the contract's schema. Not
 * validated here: ingestion is what judges a body (a test of a refused body builds it with `rawBody`).
 */
export function usageBody<T extends UsageEventType>(
  type: T,
  time: string,
  data: EventInput<T>,
  { id, source = "/gw", subject = "acme" }: EnvelopeInput & { id: string },
): string {
  return JSON.stringify({ specversion: "1.0", id, source, type, subject, time, data });
}

/** A message body from any fields over a valid sms.mt envelope: for the tests of refused messages. */
export const rawBody = (fields: Record<string, unknown>): string =>
  JSON.stringify({
    specversion: "1.0",
    id: "raw",
    source: "/gw",
    type: "sms.mt",
    subject: "acme",
    time: "2025-07-02T09:00:00Z",
    data: { to: "1", country: "TR", status: "submitted" },
    ...fields,
  });

// -------------------------------------------------------------------------------------------------
// One local system per describe block
// -------------------------------------------------------------------------------------------------

export interface Scenario {
  /** The running system (set before the block's tests run). */
  readonly system: LocalBillingSystem;
  readonly clock: VirtualClock;
  /** Moves the virtual clock forward to `time` (never back). */
  travelTo(time: string): void;
  /** Sends the bodies to the usage queue and drains it (`batchSize` messages per handler call). */
  ingest(bodies: readonly string[], batchSize?: number): ReturnType<LocalBillingSystem["drain"]>;
  /** Closes the period through the close queue and worker, as the schedule does. */
  closePeriod(period: PeriodId, accountIds?: readonly string[]): Promise<AccountCloseReport[]>;
  /** Travels to `time`, then closes the period there (`travelTo`, then `closePeriod`). */
  closeAt(time: string, period: PeriodId, accountIds?: readonly string[]): Promise<AccountCloseReport[]>;
  /** The invoice lines stored, of one period and one account when given. */
  lines(filter?: { period?: PeriodId; accountId?: string }): Promise<InvoiceLine[]>;
}

/**
 * Starts a local billing system before the enclosing describe block's tests, with its virtual clock
 * at `at` and `config` loaded (none when not given), and stops it after them.
 */
export function useLocalSystem({
  at,
  config,
  ...options
}: { at: string; config?: BillingConfig } & Omit<LocalSystemOptions, "clock">): Scenario {
  const clock = new VirtualClock(Date.parse(at));
  let system: LocalBillingSystem | undefined;
  beforeAll(async () => {
    system = await startLocalBillingSystem({ clock, ...options });
    if (config) await system.loadConfig(config);
  });
  afterAll(async () => {
    await system?.stop();
  });
  const running = () => {
    if (!system)
      throw new Error("the local system is not started (use the scenario inside its describe block's tests)");
    return system;
  };
  return {
    get system() {
      return running();
    },
    clock,
    travelTo: (time) => clock.advanceTo(Date.parse(time)),
    async ingest(bodies, batchSize) {
      await running().send(bodies);
      return running().drain(undefined, batchSize === undefined ? undefined : { batchSize });
    },
    closePeriod: (period, accountIds) => running().close(period, accountIds),
    closeAt(time, period, accountIds) {
      clock.advanceTo(Date.parse(time));
      return running().close(period, accountIds);
    },
    async lines({ period, accountId } = {}) {
      return (await allLines(running().store)).filter(
        (l) =>
          (period === undefined || l.period === period) &&
          (accountId === undefined || l.account_id === accountId),
      );
    },
  };
}

// -------------------------------------------------------------------------------------------------
// One DynamoDB Local per file or block, a fresh table per test
// -------------------------------------------------------------------------------------------------

export interface DynamoScenario {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** A client of its own, as another Lambda or process would have (destroyed after the block). */
  newClient(): DynamoDBClient;
  /** A new billing table named `prefix-N` (created), and the store over it, through `client`. */
  table(prefix: string, client?: DynamoDBClient): Promise<{ name: string; store: DynamoBillingStore }>;
}

/** Starts DynamoDB Local before the enclosing block's (or file's) tests and stops it after them. */
export function useDynamoDbLocal(): DynamoScenario {
  let dynamo: DynamoDbLocal | undefined;
  let client: DynamoDBClient | undefined;
  const others: DynamoDBClient[] = [];
  let tables = 0;
  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    client = dynamoClient({ region: "us-east-1", dynamodbEndpoint: dynamo.endpoint });
  });
  afterAll(async () => {
    client?.destroy();
    for (const c of others) c.destroy();
    await dynamo?.stop();
  });
  const started = () => {
    if (!dynamo || !client)
      throw new Error("DynamoDB Local is not started (use it inside the block's tests)");
    return { dynamo, client };
  };
  return {
    get endpoint() {
      return started().dynamo.endpoint;
    },
    get client() {
      return started().client;
    },
    newClient() {
      const c = dynamoClient({ region: "us-east-1", dynamodbEndpoint: started().dynamo.endpoint });
      others.push(c);
      return c;
    },
    async table(prefix, c = started().client) {
      const name = `${prefix}-${++tables}`;
      await ensureBillingTable(c, name);
      return { name, store: new DynamoBillingStore(c, name) };
    },
  };
}

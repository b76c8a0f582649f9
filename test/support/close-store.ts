/**
 * Wrappers around the real PeriodStore (DynamoDB) for the close tests: they count the writes a close
 * run makes, hold a run at a point, or make its finish step fail as a crash would. Every call still
 * reaches DynamoDB Local; nothing of storage is imitated.
 */
import { expect } from "vitest";
import type { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import type { CloseDeps } from "../../shared/app/close-period.js";
import { directoryOf, type IngestDeps } from "../../shared/app/ingest-usage.js";
import type { BillingConfig } from "../../shared/core/config.js";
import type { PeriodId } from "../../shared/core/time.js";
import { type Clock, VirtualClock } from "../../shared/ports/clock.js";
import type { PeriodStore } from "../../shared/ports/storage.js";
import type { DynamoScenario, Scenario } from "./scenario.js";

const WRITES = ["claimClose", "writeCloseLines", "finishClose", "markLate", "clearLate"] as const;
export type WriteCounts = Record<(typeof WRITES)[number], number>;

/** The store, with `writes` counting each write method this wrapper forwarded. */
export function countingPeriods(store: PeriodStore): PeriodStore & { writes: WriteCounts } {
  const writes = Object.fromEntries(WRITES.map((w) => [w, 0])) as WriteCounts;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "writes") return writes;
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if ((WRITES as readonly PropertyKey[]).includes(prop)) writes[prop as keyof WriteCounts] += 1;
        return v.apply(target, args);
      };
    },
  }) as PeriodStore & { writes: WriteCounts };
}

/** The store, whose methods named in `override` are replaced (the rest are the real ones). */
export function withPeriods(store: PeriodStore, override: Partial<PeriodStore>): PeriodStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const o = (override as Record<PropertyKey, unknown>)[prop];
      if (o !== undefined) return o;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/**
 * What the ingest and close use cases need, over one store and a fixed configuration; `periods`
 * (default: the store itself) is the period store the close writes through.
 */
export const closeAndIngestDeps = (
  store: DynamoBillingStore,
  clock: Clock,
  config: BillingConfig,
  periods: PeriodStore = store,
): CloseDeps & IngestDeps => ({
  usage: store.usage,
  accounts: directoryOf(config),
  periods,
  deadLetters: store,
  clock,
  config: async () => config,
});

/**
 * A new table holding `config`, a virtual clock at `at`, and the ingest and close use cases'
 * dependencies over them: the start of a test of ingest and close on DynamoDB Local.
 */
export async function configuredTable(
  dynamo: DynamoScenario,
  prefix: string,
  config: BillingConfig,
  at: string,
): Promise<{ store: DynamoBillingStore; clock: VirtualClock; deps: CloseDeps & IngestDeps }> {
  const { store } = await dynamo.table(prefix);
  await store.saveConfig(config);
  const clock = new VirtualClock(Date.parse(at));
  return { store, clock, deps: closeAndIngestDeps(store, clock, config) };
}

/**
 * The hourly close scheduler run at `time` (2 h grace, overdue after 6 h) with the closes it
 * requested drained; `accountId` is no longer configured, so its request comes from the
 * unclosed-usage index: the outcome of its close of `period`.
 */
export async function unclosedAccountClosedAt(
  scenario: Scenario,
  time: string,
  accountId: string,
  period: PeriodId,
) {
  scenario.travelTo(time);
  const run = await scenario.system.runCloseScheduler(2, 6);
  expect(run.unclosed.enqueued).toBeGreaterThanOrEqual(1);
  const outcomes = await scenario.system.drainCloses();
  return outcomes.find((o) => o.accountId === accountId && o.period === period);
}

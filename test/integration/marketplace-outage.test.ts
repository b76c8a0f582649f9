/**
 * Marketplace without expiry (issue 21 item 5), on DynamoDB Local and the local Metering API:
 * - a reporter down for 30 hours: every hour with overage ends either accepted by the Marketplace
 *   or recorded `expired` with its quantity (in the reconciliation's expired_quantity and the
 *   expired-events metric), none silently missing, none moved into another hour, none sent twice;
 * - a run's DynamoDB requests do not grow with the account's history: the same run over 2 or 8
 *   months of closed history makes the same requests (a request-counting middleware); without a
 *   stored snapshot (months never closed) the run builds it from the earlier months and says so.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { runMetrics } from "../../functions/marketplace-reporter/handler.js";
import { LocalMeteringApi, meteringResourcesOf } from "../../local/metering-api.js";
import { HttpMeteringClient } from "../../shared/adapters/marketplace/http-metering-client.js";
import { closePeriod } from "../../shared/app/close-period.js";
import { foldAccounts } from "../../shared/app/fold-usage.js";
import { reconcileMarketplaceUsage } from "../../shared/app/reconcile-marketplace.js";
import type { MarketplaceRunReport } from "../../shared/app/report-marketplace-usage.js";
import { type BillingConfig, configIndex, parseAccounts } from "../../shared/core/config.js";
import { hourIso } from "../../shared/core/marketplace/usage.js";
import { formatDecimal } from "../../shared/core/money.js";
import { contributionOf } from "../../shared/core/rating/counters.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { HOUR } from "../../shared/core/time.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { MARKETPLACE_EXPIRED_EVENTS_METRIC } from "../../shared/runtime/observability.js";
import { closeAndIngestDeps } from "../support/close-store.js";
import {
  at,
  azureAccount,
  expectNoDoubleReport,
  smsOf,
  useMarketplaceLocal,
} from "../support/marketplace-world.js";
import { stdTariffs } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }]);
const local = useMarketplaceLocal();

async function world(start: string, included: Record<string, number>, dynamodb?: DynamoDBClient) {
  const accounts = parseAccounts([azureAccount("contoso", "res-contoso", { included })], tariffs);
  const config: BillingConfig = { accounts, tariffs };
  const clock = new VirtualClock(at(start));
  const api = new LocalMeteringApi({ clock, resources: meteringResourcesOf(accounts) });
  const url = await local.serve(api);
  const client = new HttpMeteringClient({ baseUrl: url, retry: { maxAttempts: 1 } });
  const reporter = await local.reporter("outage", {
    config,
    clock,
    client,
    fromHour: at(start),
    ...(dynamodb ? { dynamodb } : {}),
  });
  return { ...reporter, config, clock, api };
}

/** One SMS at minute `minute` of each hour from `from` (inclusive) to `to` (exclusive). */
const hourly = (from: string, to: string, minute = 10) =>
  Array.from({ length: (at(to) - at(from)) / HOUR }, (_, i) =>
    smsOf("contoso", new Date(at(from) + i * HOUR + minute * 60_000).toISOString()),
  );

const hoursFrom = (from: string, count: number) =>
  Array.from({ length: count }, (_, i) => hourIso(at(from) + i * HOUR));

describe("a reporter down for 30 hours", () => {
  it("leaves every hour accepted or expired with its quantity — in the records, the reconciliation and the metric — none missing, none moved, none sent twice", async () => {
    const w = await world("2025-07-02T00:00:00Z", { sms_mt: 3 });
    // Up and running: one SMS an hour, 00:00 … 09:00; 3 included, so 03:00 … 09:00 carry 1 each.
    await w.ingest(hourly("2025-07-02T00:00:00Z", "2025-07-02T10:00:00Z"));
    const before = await w.runHourly("2025-07-02T10:00:00Z");
    expect(before.flatMap((r) => r.accounts.flatMap((a) => a.events.map((e) => e.outcome)))).toEqual(
      Array(7).fill("accepted"),
    );

    // Down from 10:00 on 2 July to 16:00 on 3 July (30 hourly runs missed). Usage goes on: one
    // SMS an hour and a second one at 13:00; every message is delivered twice (at least once);
    // a late SMS of 05:00 (an hour already reported) arrives meanwhile.
    const during = [
      ...hourly("2025-07-02T10:00:00Z", "2025-07-03T16:00:00Z"),
      smsOf("contoso", "2025-07-02T13:40:00Z"),
    ];
    await w.ingest(during);
    await w.ingest(during);
    await w.ingest([smsOf("contoso", "2025-07-02T05:30:00Z")]);
    w.clock.advanceTo(at("2025-07-03T16:00:00Z"));
    const back = await w.run();

    const account = back.accounts[0]!;
    expect(account.skippedHours).toBe(6); // 10:00 … 15:00 of 2 July: past Microsoft's 24 hours
    expect(account.hours).toEqual({ first: "2025-07-02T16:00:00Z", last: "2025-07-03T15:00:00Z", count: 24 });
    expect(account.readHistory).toBe(false);

    // Every hour with overage has exactly one record, accepted or expired; none pending or missing.
    const records = await w.store.usageRecords("contoso");
    const byHour = new Map(records.map((r) => [r.effectiveStartTime, r]));
    expect(records).toHaveLength(byHour.size);
    const expiredHours = hoursFrom("2025-07-02T10:00:00Z", 6);
    const reportedHours = [...hoursFrom("2025-07-02T03:00:00Z", 7), ...hoursFrom("2025-07-02T16:00:00Z", 24)];
    expect([...byHour.keys()].sort()).toEqual([...expiredHours, ...reportedHours].sort());
    expect(expiredHours.map((h) => [h, byHour.get(h)?.status, byHour.get(h)?.quantity])).toEqual([
      ["2025-07-02T10:00:00Z", "expired", "2"], // its SMS and the late one of 05:00 (next hour handled)
      ["2025-07-02T11:00:00Z", "expired", "1"],
      ["2025-07-02T12:00:00Z", "expired", "1"],
      ["2025-07-02T13:00:00Z", "expired", "2"],
      ["2025-07-02T14:00:00Z", "expired", "1"],
      ["2025-07-02T15:00:00Z", "expired", "1"],
    ]);
    for (const h of expiredHours) {
      expect(byHour.get(h)?.marketplaceStatus).toBeUndefined(); // never sent
      expect(byHour.get(h)?.reason).toMatch(/older than the Marketplace's 24 hours/);
    }
    for (const h of reportedHours)
      expect([h, byHour.get(h)?.status, byHour.get(h)?.quantity]).toEqual([h, "accepted", "1"]);

    // The Marketplace holds exactly the accepted hours, each once, with its own quantity.
    expect(
      w.api
        .accepted()
        .map((e) => [e.effectiveStartTime, e.quantity])
        .sort(),
    ).toEqual(reportedHours.map((h) => [h, 1]).sort());
    expectNoDoubleReport(w.api);

    // Nothing lost: 40 hourly SMS + 1 + the late one = 42, 3 included: 39 = 31 accepted + 8 expired.
    const [row] = await reconcileMarketplaceUsage(w.deps, "2025-07");
    expect(
      [row!.rated, row!.overage, row!.accepted, row!.rejected, row!.expired, row!.pending].map(formatDecimal),
    ).toEqual(["42", "39", "31", "8", "8", "0"]);
    expect(row!.status).toBe("short");

    // The alarm's metric and the run report.
    expect([back.expiredEvents, back.expiredQuantity]).toEqual([6, "8"]);
    expect(runMetrics(back)[MARKETPLACE_EXPIRED_EVENTS_METRIC]).toBe(6);
    expect(back.needsAttention.map((e) => [e.effectiveStartTime, e.outcome, e.quantity])).toEqual(
      expiredHours.map((h) => [h, "expired", byHour.get(h)!.quantity]),
    );

    // The next runs neither resend nor re-expire anything.
    const after = await w.runHourly("2025-07-03T18:00:00Z");
    expect(after.map((r) => [r.calls, r.expiredEvents])).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(await w.store.usageRecords("contoso")).toHaveLength(records.length);
  });

  it("an hour sent in time whose call got no answer and that is resent after 24 hours ends expired (Microsoft's answer), the others accepted: none left pending", async () => {
    const w = await world("2025-07-02T00:00:00Z", {});
    await w.ingest(hourly("2025-07-02T00:00:00Z", "2025-07-03T16:00:00Z"));
    w.clock.advanceTo(at("2025-07-03T16:00:00Z"));
    w.api.failNext(1); // the catch-up call fails: its 24 events stay pending
    const back = await w.run();
    expect(back.totals).toMatchObject({ pending: 24, expired: 16 });
    const next = await w.runHourly("2025-07-03T17:00:00Z"); // 16:00 of 2 July is now 25 hours back
    expect(next[0]!.totals).toMatchObject({ expired: 1, accepted: 23, pending: 0 });
    const statuses = (await w.store.usageRecords("contoso")).map((r) => r.status);
    expect(statuses).toHaveLength(40);
    expect(statuses.filter((s) => s === "expired")).toHaveLength(17);
    expect(statuses.filter((s) => s === "accepted")).toHaveLength(23);
    const [row] = await reconcileMarketplaceUsage(w.deps, "2025-07");
    expect([row!.overage, row!.accepted, row!.expired, row!.pending].map(formatDecimal)).toEqual([
      "40",
      "23",
      "17",
      "0",
    ]);
  });
});

/** A DynamoDB client that counts its requests by command. */
function countingClient(client: DynamoDBClient): { client: DynamoDBClient; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? "?";
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: "initialize", name: "countRequests" },
  );
  return { client, counts };
}

describe("a reporter run's reads", () => {
  /**
   * The account's history: 50 SMS a month from `first` to August 2025, each month closed (its close
   * writes the snapshot at the next month's start); the reporter then runs at 23:00 on 31 August
   * (its first run) and at 01:00 on 1 September (measured: hours 23:00 and 00:00, months August
   * and September in play).
   */
  async function measuredRun(first: number, { close = true } = {}) {
    const counting = countingClient(local.newClient());
    const w = await world("2025-08-31T22:00:00Z", {}, counting.client);
    const months = Array.from(
      { length: 8 - first + 1 },
      (_, i) => `2025-${String(first + i).padStart(2, "0")}`,
    );
    // Each month's events in one batch: one attempt, so one page shard per month whatever the
    // random shard choice (the page reads per month then do not vary between the two histories).
    const index = configIndex(w.config);
    const account = index.account("contoso")!;
    const batch = async (events: readonly LedgerEvent[]) => {
      await w.ledger.ingest(
        events.map((event) => ({
          event,
          hash: `${event.source}#${event.id}`,
          accountId: "contoso",
          contribution: contributionOf(account, index.tariffOf(account), event),
          body: JSON.stringify(event),
        })),
        w.clock.now(),
      );
      // Folded as the local run folds each batch (the pages the reporter reads).
      await foldAccounts(["contoso"], { journal: w.ledger.journal, periods: w.billing, clock: w.clock });
    };
    for (const m of months)
      await batch([
        ...Array.from({ length: 50 }, (_, i) =>
          smsOf("contoso", `${m}-${String(1 + (i % 28)).padStart(2, "0")}T0${i % 10}:15:00Z`),
        ),
        ...(m === "2025-08"
          ? [smsOf("contoso", "2025-08-31T22:30:00Z"), smsOf("contoso", "2025-08-31T23:30:00Z")]
          : []),
      ]);
    await batch([smsOf("contoso", "2025-09-01T00:30:00Z")]);
    const closes = closeAndIngestDeps(w.billing, w.clock, w.config);
    if (close) for (const m of months.slice(0, -1)) await closePeriod(m, closes);
    await w.runHourly("2025-08-31T23:00:00Z");
    counting.counts.clear();
    w.clock.advanceTo(at("2025-09-01T01:00:00Z"));
    const run: MarketplaceRunReport = await w.run();
    return { run, requests: Object.fromEntries([...counting.counts].sort()) };
  }

  it("do not grow with the account's history: 2 or 8 months of closed history, the same requests", async () => {
    const short = await measuredRun(7);
    const long = await measuredRun(1);
    // What a run reads and writes: the watermark (GetItem), the records of the months in play (one
    // Query per dimension), the usage markers, one snapshot and the pages of August and September
    // (one Query each); two pending records (PutItem), their answers and the watermark (UpdateItem).
    expect(long.requests).toEqual(short.requests);
    expect(short.requests).toEqual({
      GetItemCommand: 1,
      PutItemCommand: 2,
      QueryCommand: 5,
      UpdateItemCommand: 3,
    });
    for (const { run } of [short, long]) {
      expect(run.accounts[0]!.readHistory).toBe(false);
      expect(run.accounts[0]!.events.map((e) => [e.effectiveStartTime, e.quantity, e.outcome])).toEqual([
        ["2025-08-31T23:00:00Z", "1", "accepted"],
        ["2025-09-01T00:00:00Z", "1", "accepted"],
      ]);
    }
  });

  it("without a stored snapshot (the months before never closed) it reads the earlier months to build it, says so, and reports the same", async () => {
    const unclosed = await measuredRun(5, { close: false });
    expect(unclosed.run.accounts[0]!.readHistory).toBe(true);
    expect(
      unclosed.run.accounts[0]!.events.map((e) => [e.effectiveStartTime, e.quantity, e.outcome]),
    ).toEqual([
      ["2025-08-31T23:00:00Z", "1", "accepted"],
      ["2025-09-01T00:00:00Z", "1", "accepted"],
    ]);
    // The snapshot read finds nothing, then May … August's pages are read to build it.
    expect(unclosed.requests.QueryCommand).toBeGreaterThan(5);
  });
});

/**
 * Marketplace pass-through on real parts (rating-rules §6): DynamoDB Local (ledger, usage records,
 * watermarks), the local Metering API emulator over HTTP, the fetch client and the reporter, on a
 * virtual clock run hour by hour. Accepted, Duplicate after a lost answer and on a rerun, Expired
 * after the clock jumped more than 24 hours, watermark catch-up, batches of ≤ 25, rejections —
 * and, throughout, nothing lost and nothing reported twice.
 */
import { describe, expect, it } from "vitest";
import {
  createMarketplaceReporterHandler,
  MarketplaceRunError,
} from "../../functions/marketplace-reporter/handler.js";
import { LocalMeteringApi, meteringResourcesOf } from "../../local/metering-api.js";
import { HttpMeteringClient } from "../../shared/adapters/marketplace/http-metering-client.js";
import {
  type MarketplaceReporterDeps,
  type MarketplaceRunReport,
  reportMarketplaceUsage,
} from "../../shared/app/report-marketplace-usage.js";
import type { Account } from "../../shared/contract/accounts.js";
import { type BillingConfig, parseAccounts } from "../../shared/core/config.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { MeteringCallError } from "../../shared/ports/marketplace.js";
import { ev } from "../support/events.js";
import {
  at,
  azureAccount,
  expectNoDoubleReport,
  type LocalReporter,
  sentEvents,
  smsOf,
  useMarketplaceLocal,
} from "../support/marketplace-world.js";
import { stdTariffs } from "../support/scenario.js";
import { acceptedUsage } from "../support/table-scans.js";

const tariffs = stdTariffs([
  { product: "sms.mt", unitPrice: "0.05" },
  { product: "sms.mo", unitPrice: "0.005" },
]);

const azure = (accountId: string, resourceId: string, included: Record<string, number> = { sms_mt: 5 }) =>
  azureAccount(accountId, resourceId, { dimensions: { "sms.mt": "sms_mt", "sms.mo": "sms_mo" }, included });
const direct = { accountId: "direct-co", name: "Direct", currency: "EUR", tariffId: "std" };

const sms = smsOf;
const mo = (subject: string, time: string) =>
  ev("sms.mo", time, { from: "905320000000", country: "TR", status: "accepted" }, { subject });

const local = useMarketplaceLocal();

interface World extends LocalReporter {
  readonly clock: VirtualClock;
  readonly api: LocalMeteringApi;
  readonly start: number;
  /** A fresh table (records and watermarks lost), same ledger events, same Marketplace. */
  withNewStore(): Promise<World>;
}

async function world(
  rawAccounts: unknown[],
  start: string,
  shared?: { clock: VirtualClock; api: LocalMeteringApi; url: string },
): Promise<World> {
  const accounts: Account[] = parseAccounts(rawAccounts, tariffs);
  const config: BillingConfig = { accounts, tariffs };
  const clock = shared?.clock ?? new VirtualClock(at(start));
  const api = shared?.api ?? new LocalMeteringApi({ clock, resources: meteringResourcesOf(accounts) });
  const url = shared?.url ?? (await local.serve(api));
  // No retry within a call here: these tests follow a failed call into the next run.
  const client = new HttpMeteringClient({ baseUrl: url, retry: { maxAttempts: 1 } });
  const startMs = at(start);
  const reporter = await local.reporter("mkt", { config, clock, client, fromHour: startMs });
  const events: LedgerEvent[] = [];
  return {
    ...reporter,
    clock,
    api,
    start: startMs,
    async ingest(batch) {
      events.push(...batch);
      await reporter.ingest(batch);
    },
    async withNewStore() {
      const other = await world(rawAccounts, start, { clock, api, url });
      await other.ingest(events);
      return other;
    },
  };
}

const sent = (reports: readonly MarketplaceRunReport[]) => sentEvents(reports);

describe("hourly Marketplace reporting on DynamoDB Local and the local Metering API", () => {
  it("Accepted: each hour's usage above the included quantity, once; direct accounts and hours under the included quantity send nothing", async () => {
    const w = await world([azure("contoso", "res-contoso"), direct], "2025-07-02T09:05:00Z");
    await w.ingest([
      sms("contoso", "2025-07-02T09:05:00Z"),
      sms("contoso", "2025-07-02T09:20:00Z"),
      sms("contoso", "2025-07-02T09:40:00Z"),
      sms("contoso", "2025-07-02T10:10:00Z"),
      sms("contoso", "2025-07-02T10:30:00Z"),
      sms("contoso", "2025-07-02T10:50:00Z"), // 6th of July: 1 above the 5 included
      sms("contoso", "2025-07-02T11:20:00Z"),
      sms("contoso", "2025-07-02T11:25:00Z"),
      mo("contoso", "2025-07-02T11:30:00Z"), // sms_mo: nothing included
      sms("contoso", "2025-07-02T13:05:00Z"),
      ...Array.from({ length: 20 }, (_, i) => sms("direct-co", `2025-07-02T10:${String(i + 10)}:00Z`)),
    ]);
    const reports = await w.runHourly("2025-07-02T15:00:00Z");
    expect(sent(reports)).toEqual([
      ["2025-07-02T10:00:00Z", "sms_mt", "1", "accepted"],
      ["2025-07-02T11:00:00Z", "sms_mo", "1", "accepted"],
      ["2025-07-02T11:00:00Z", "sms_mt", "2", "accepted"],
      ["2025-07-02T13:00:00Z", "sms_mt", "1", "accepted"],
    ]);
    expect(w.api.accepted()).toEqual([
      {
        resourceId: "res-contoso",
        planId: "plan-std",
        dimension: "sms_mt",
        quantity: 1,
        effectiveStartTime: "2025-07-02T10:00:00Z",
      },
      {
        resourceId: "res-contoso",
        planId: "plan-std",
        dimension: "sms_mo",
        quantity: 1,
        effectiveStartTime: "2025-07-02T11:00:00Z",
      },
      {
        resourceId: "res-contoso",
        planId: "plan-std",
        dimension: "sms_mt",
        quantity: 2,
        effectiveStartTime: "2025-07-02T11:00:00Z",
      },
      {
        resourceId: "res-contoso",
        planId: "plan-std",
        dimension: "sms_mt",
        quantity: 1,
        effectiveStartTime: "2025-07-02T13:00:00Z",
      },
    ]);
    expect(reports.map((r) => r.accounts.map((a) => a.accountId))).toEqual(reports.map(() => ["contoso"]));
    expect(await w.store.getWatermark("contoso")).toEqual({
      lastHour: at("2025-07-02T14:00:00Z"),
      firstHour: at("2025-07-02T09:00:00Z"),
    });
    const records = await w.store.usageRecords("contoso");
    expect(
      records.map((r) => [r.effectiveStartTime, r.dimension, r.status, r.marketplaceStatus, r.byPeriod]),
    ).toEqual([
      ["2025-07-02T10:00:00Z", "sms_mt", "accepted", "Accepted", { "2025-07": "1" }],
      ["2025-07-02T11:00:00Z", "sms_mo", "accepted", "Accepted", { "2025-07": "1" }],
      ["2025-07-02T11:00:00Z", "sms_mt", "accepted", "Accepted", { "2025-07": "2" }],
      ["2025-07-02T13:00:00Z", "sms_mt", "accepted", "Accepted", { "2025-07": "1" }],
    ]);
    expect(records.every((r) => r.usageEventId)).toBe(true);
    expect(
      (await acceptedUsage(w.store)).map((u) => [u.accountId, u.dimension, u.quantity, u.effectiveStartTime]),
    ).toEqual(w.api.accepted().map((u) => ["contoso", u.dimension, u.quantity, u.effectiveStartTime]));

    // A rerun at the same instant, and the next hour with no new usage: nothing sent.
    const again = [await w.run(), ...(await w.runHourly("2025-07-02T16:00:00Z"))];
    expect(again.map((r) => r.calls)).toEqual([0, 0]);
    expect(w.api.stats().calls).toBe(3); // hours 10, 11 (two dimensions in one call) and 13
    expectNoDoubleReport(w.api);
  });

  it("a call whose answer is lost stays pending and is sent again: Duplicate, recorded accepted once; a refused call is simply resent", async () => {
    const w = await world([azure("contoso", "res-contoso", {})], "2025-07-02T09:00:00Z");
    await w.ingest([sms("contoso", "2025-07-02T09:10:00Z"), sms("contoso", "2025-07-02T10:10:00Z")]);
    w.api.failNext(1, { afterProcessing: true }); // the Marketplace takes hour 09, the answer is lost
    const [lost] = await w.runHourly("2025-07-02T10:00:00Z");
    expect(lost!.totals).toMatchObject({ pending: 1, accepted: 0 });
    expect(lost!.callErrors[0]).toMatch(/HTTP 503/);
    expect((await w.store.usageRecords("contoso")).map((r) => [r.status, r.failedAttempts])).toEqual([
      ["pending", 1],
    ]);
    expect(await acceptedUsage(w.store)).toEqual([]);
    expect(w.api.accepted()).toHaveLength(1);

    w.api.failNext(1); // the next call is refused before being processed (hour 09 resent + hour 10)
    const [refused] = await w.runHourly("2025-07-02T11:00:00Z");
    expect(refused!.totals).toMatchObject({ pending: 2 });
    const [recovered] = await w.runHourly("2025-07-02T12:00:00Z");
    expect(sent([recovered!])).toEqual([
      ["2025-07-02T09:00:00Z", "sms_mt", "1", "duplicate"],
      ["2025-07-02T10:00:00Z", "sms_mt", "1", "accepted"],
    ]);
    expect(recovered!.accounts[0]!.events.map((e) => e.resent)).toEqual([true, true]);
    const records = await w.store.usageRecords("contoso");
    expect(
      records.map((r) => [r.effectiveStartTime, r.status, r.marketplaceStatus, r.acceptedQuantity]),
    ).toEqual([
      ["2025-07-02T09:00:00Z", "accepted", "Duplicate", "1"],
      ["2025-07-02T10:00:00Z", "accepted", "Accepted", "1"],
    ]);
    expect(records[0]!.usageEventId).toBeDefined();
    expect(w.api.accepted().map((e) => e.effectiveStartTime)).toEqual([
      "2025-07-02T09:00:00Z",
      "2025-07-02T10:00:00Z",
    ]);
    expect((await w.run()).calls).toBe(0);
    expectNoDoubleReport(w.api);
  });

  it("a rerun that lost its records (fresh store) is answered Duplicate for every hour already accepted: nothing reported twice", async () => {
    const w = await world([azure("contoso", "res-contoso", { sms_mt: 1 })], "2025-07-02T09:00:00Z");
    await w.ingest([
      sms("contoso", "2025-07-02T09:10:00Z"),
      sms("contoso", "2025-07-02T09:20:00Z"),
      sms("contoso", "2025-07-02T10:10:00Z"),
      sms("contoso", "2025-07-02T10:20:00Z"),
    ]);
    await w.runHourly("2025-07-02T12:00:00Z");
    const before = w.api.accepted();
    expect(before.map((e) => [e.effectiveStartTime, e.quantity])).toEqual([
      ["2025-07-02T09:00:00Z", 1],
      ["2025-07-02T10:00:00Z", 2],
    ]);
    const fresh = await w.withNewStore();
    const rerun = await fresh.run();
    expect(sent([rerun])).toEqual([
      ["2025-07-02T09:00:00Z", "sms_mt", "1", "duplicate"],
      ["2025-07-02T10:00:00Z", "sms_mt", "2", "duplicate"],
    ]);
    expect(rerun.needsAttention).toEqual([]);
    expect(w.api.accepted()).toEqual(before);
    expect((await fresh.store.usageRecords("contoso")).map((r) => r.status)).toEqual([
      "accepted",
      "accepted",
    ]);
  });

  it("Expired: an event still pending when the clock jumps more than 24 hours is refused, an hour reached too late is recorded expired; both kept for manual handling and not carried; later usage is still reported", async () => {
    const w = await world([azure("contoso", "res-contoso", {})], "2025-07-02T09:00:00Z");
    await w.ingest([sms("contoso", "2025-07-02T09:10:00Z"), sms("contoso", "2025-07-02T09:20:00Z")]);
    w.api.failNext(1);
    const [failed] = await w.runHourly("2025-07-02T10:00:00Z");
    expect(failed!.totals.pending).toBe(1);

    // The reporter does not run for 30 hours; usage continues meanwhile.
    await w.ingest([
      sms("contoso", "2025-07-02T12:10:00Z"), // older than 24 h at the next run: recorded expired, never sent
      sms("contoso", "2025-07-03T14:10:00Z"),
      sms("contoso", "2025-07-03T15:10:00Z"),
      sms("contoso", "2025-07-03T15:20:00Z"),
    ]);
    w.clock.advanceTo(at("2025-07-03T16:00:00Z"));
    const late = await w.run();
    const account = late.accounts[0]!;
    expect(account.hours).toEqual({ first: "2025-07-02T16:00:00Z", last: "2025-07-03T15:00:00Z", count: 24 });
    expect(account.skippedHours).toBe(6); // 10:00 … 15:00 of 2025-07-02
    expect(sent([late])).toEqual([
      ["2025-07-02T12:00:00Z", "sms_mt", "1", "expired"], // reached too late: not sent, not moved
      ["2025-07-02T09:00:00Z", "sms_mt", "2", "expired"],
      ["2025-07-03T14:00:00Z", "sms_mt", "1", "accepted"],
      ["2025-07-03T15:00:00Z", "sms_mt", "2", "accepted"],
    ]);
    expect(late.calls).toBe(1);
    expect(late.needsAttention).toEqual([
      expect.objectContaining({
        effectiveStartTime: "2025-07-02T12:00:00Z",
        outcome: "expired",
        reason: expect.stringMatching(/older than the Marketplace's 24 hours/),
      }),
      expect.objectContaining({
        effectiveStartTime: "2025-07-02T09:00:00Z",
        outcome: "expired",
        reason: expect.stringMatching(/24 hours/),
      }),
    ]);
    const records = await w.store.usageRecords("contoso");
    expect(records.map((r) => [r.effectiveStartTime, r.status, r.marketplaceStatus])).toEqual([
      ["2025-07-02T09:00:00Z", "expired", "Expired"],
      ["2025-07-02T12:00:00Z", "expired", undefined],
      ["2025-07-03T14:00:00Z", "accepted", "Accepted"],
      ["2025-07-03T15:00:00Z", "accepted", "Accepted"],
    ]);
    // Nothing lost: accepted + expired = the month's overage so far (6 SMS, nothing included).
    expect(records.reduce((s, r) => s + Number(r.quantity), 0)).toBe(6);
    expect(w.api.accepted().reduce((s, e) => s + e.quantity, 0)).toBe(3);
    expect([late.expiredEvents, late.expiredQuantity]).toEqual([2, "3"]);
    // The expired event is never sent again.
    const next = await w.runHourly("2025-07-03T18:00:00Z");
    expect(next.map((r) => r.calls)).toEqual([0, 0]);
    expectNoDoubleReport(w.api);
  });

  it("watermark catch-up: missed hours within 24 hours are reported one event per hour, in one call", async () => {
    const w = await world([azure("contoso", "res-contoso", { sms_mt: 2 })], "2025-07-02T09:00:00Z");
    await w.runHourly("2025-07-02T10:00:00Z"); // watermark: hour 09
    await w.ingest([
      sms("contoso", "2025-07-02T10:05:00Z"),
      sms("contoso", "2025-07-02T10:06:00Z"),
      sms("contoso", "2025-07-02T10:07:00Z"), // 1 above
      sms("contoso", "2025-07-02T12:05:00Z"),
      sms("contoso", "2025-07-02T12:06:00Z"),
      mo("contoso", "2025-07-02T13:30:00Z"),
      sms("contoso", "2025-07-02T14:59:59Z"),
    ]);
    w.clock.advanceTo(at("2025-07-02T15:10:00Z")); // runs of 11:00 … 15:00 missed
    const report = await w.run();
    expect(report.accounts[0]!.hours).toEqual({
      first: "2025-07-02T10:00:00Z",
      last: "2025-07-02T14:00:00Z",
      count: 5,
    });
    expect(sent([report])).toEqual([
      ["2025-07-02T10:00:00Z", "sms_mt", "1", "accepted"],
      ["2025-07-02T12:00:00Z", "sms_mt", "2", "accepted"],
      ["2025-07-02T13:00:00Z", "sms_mo", "1", "accepted"],
      ["2025-07-02T14:00:00Z", "sms_mt", "1", "accepted"],
    ]);
    expect(report.calls).toBe(1);
    expect((await w.store.getWatermark("contoso"))?.lastHour).toBe(at("2025-07-02T14:00:00Z"));
    expect((await w.run()).calls).toBe(0);
  });

  it("more than 25 events go out in calls of at most 25; an unknown resource is rejected, kept and never resent, without harming the others", async () => {
    const accounts = [
      ...Array.from({ length: 30 }, (_, i) => azure(`acct-${String(i).padStart(2, "0")}`, `res-${i}`, {})),
      azure("stranger", "res-unknown-to-microsoft", {}),
    ];
    const w = await world(accounts, "2025-07-02T09:00:00Z");
    // The emulator only knows the first 30 resources.
    const known = new LocalMeteringApi({
      clock: w.clock,
      resources: meteringResourcesOf(parseAccounts(accounts.slice(0, 30), tariffs)),
    });
    const url = await local.serve(known);
    const deps = {
      ...w.deps,
      client: new HttpMeteringClient({ baseUrl: url, retry: { maxAttempts: 1 } }),
    };
    await w.ingest(accounts.map((a) => sms(a.accountId, "2025-07-02T09:30:00Z")));
    w.clock.advanceTo(at("2025-07-02T10:00:00Z"));
    const report = await reportMarketplaceUsage(deps, { fromHour: w.start });
    expect(report.calls).toBe(2);
    expect(known.stats()).toEqual({ calls: 2, events: 31, largestBatch: 25 });
    expect(report.totals).toMatchObject({ accepted: 30, rejected: 1 });
    expect(report.needsAttention).toEqual([
      expect.objectContaining({
        accountId: "stranger",
        outcome: "rejected",
        marketplaceStatus: "ResourceNotFound",
      }),
    ]);
    expect((await w.store.usageRecords("stranger")).map((r) => [r.status, r.marketplaceStatus])).toEqual([
      ["rejected", "ResourceNotFound"],
    ]);
    expect(known.accepted()).toHaveLength(30);
    w.clock.advanceTo(at("2025-07-02T11:00:00Z"));
    expect((await reportMarketplaceUsage(deps)).calls).toBe(0);
  });

  it("the Lambda handler factory runs the reporter, logs one JSON line, and throws when an account could not be processed", async () => {
    const w = await world([azure("contoso", "res-contoso", {})], "2025-07-02T09:00:00Z");
    await w.ingest([sms("contoso", "2025-07-02T09:10:00Z")]);
    w.clock.advanceTo(at("2025-07-02T10:00:00Z"));
    const lines: string[] = [];
    const report = await createMarketplaceReporterHandler(w.deps, { log: (l) => lines.push(l) })({});
    expect(report.totals.accepted).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "INFO", totals: { accepted: 1 } });

    const broken: MarketplaceReporterDeps = {
      ...w.deps,
      ledger: {
        eventsOf: async () => Promise.reject(new Error("ledger unavailable")),
        usageMarkers: async () => Promise.reject(new Error("ledger unavailable")),
        statefulEventsOf: async () => Promise.reject(new Error("ledger unavailable")),
        snapshotAt: async () => Promise.reject(new Error("ledger unavailable")),
      },
    };
    w.clock.advanceTo(at("2025-07-02T11:00:00Z"));
    await expect(
      createMarketplaceReporterHandler(broken, { log: () => undefined })({}),
    ).rejects.toBeInstanceOf(MarketplaceRunError);
    // The watermark did not move: the next run does the hour.
    expect((await w.store.getWatermark("contoso"))?.lastHour).toBe(at("2025-07-02T09:00:00Z"));
  });
});

describe("the HTTP metering client against the documented answer shapes", () => {
  const events = [
    {
      resourceId: "r1",
      planId: "p",
      dimension: "d1",
      quantity: 5,
      effectiveStartTime: "2025-07-02T08:00:00Z",
    },
    {
      resourceId: "r2",
      planId: "p",
      dimension: "email",
      quantity: 1,
      effectiveStartTime: "2025-07-02T11:00:00Z",
    },
  ];
  const answering = (status: number, body: unknown, seen: { url?: string; init?: RequestInit }[] = []) =>
    new HttpMeteringClient({
      baseUrl: "https://marketplace.example/",
      correlationId: "run-1",
      retry: { maxAttempts: 1 },
      token: { token: async () => "tok", invalidate: () => undefined },
      fetch: (async (url: URL | string, init?: RequestInit) => {
        seen.push({ url: String(url), init: init ?? {} });
        return new Response(typeof body === "string" ? body : JSON.stringify(body), { status });
      }) as typeof fetch,
    });

  it("posts {request} with the headers, and matches results to events by resource, dimension and hour, whatever their order", async () => {
    const seen: { url?: string; init?: RequestInit }[] = [];
    const client = answering(
      200,
      {
        count: 2,
        result: [
          {
            status: "Duplicate",
            messageTime: "0001-01-01T00:00:00",
            error: {
              additionalInfo: {
                acceptedMessage: {
                  usageEventId: "u-0",
                  status: "Duplicate",
                  quantity: 1.0,
                  dimension: "email",
                },
              },
              message: "This usage event already exist.",
              code: "Conflict",
            },
            resourceId: "r2",
            quantity: 1.0,
            dimension: "email",
            effectiveStartTime: "2025-07-02T11:00:00",
            planId: "p",
          },
          {
            usageEventId: "u-1",
            status: "Accepted",
            messageTime: "2025-07-02T12:00:01.1Z",
            resourceId: "r1",
            quantity: 5.0,
            dimension: "d1",
            effectiveStartTime: "2025-07-02T08:00:00",
            planId: "p",
          },
        ],
      },
      seen,
    );
    expect(await client.submitBatch(events)).toEqual([
      { status: "Accepted", usageEventId: "u-1", messageTime: "2025-07-02T12:00:01.1Z", acceptedQuantity: 5 },
      {
        status: "Duplicate",
        usageEventId: "u-0",
        messageTime: "0001-01-01T00:00:00",
        acceptedQuantity: 1,
        error: { code: "Conflict", message: "This usage event already exist." },
      },
    ]);
    expect(seen[0]!.url).toBe("https://marketplace.example/api/batchUsageEvent?api-version=2018-08-31");
    const headers = seen[0]!.init!.headers as Record<string, string>;
    expect(headers).toMatchObject({
      "Content-Type": "application/json",
      "x-ms-correlationid": "run-1",
      authorization: "Bearer tok",
    });
    expect(headers["x-ms-requestid"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(String(seen[0]!.init!.body))).toEqual({ request: events });
  });

  it("throws MeteringCallError (nothing may be assumed accepted) on HTTP errors, unreadable bodies and missing results", async () => {
    await expect(answering(503, "busy").submitBatch(events)).rejects.toMatchObject({
      name: "MeteringCallError",
      httpStatus: 503,
    });
    await expect(answering(400, { code: "BadArgument" }).submitBatch(events)).rejects.toBeInstanceOf(
      MeteringCallError,
    );
    await expect(answering(200, "<html>").submitBatch(events)).rejects.toBeInstanceOf(MeteringCallError);
    await expect(
      answering(200, {
        count: 1,
        result: [
          {
            status: "Accepted",
            resourceId: "r1",
            dimension: "d1",
            effectiveStartTime: "2025-07-02T08:00:00Z",
          },
        ],
      }).submitBatch(events),
    ).rejects.toThrow(/no result for r2\/email/);
    const down = new HttpMeteringClient({
      baseUrl: "http://127.0.0.1:9",
      retry: { maxAttempts: 1 },
      fetch: (async () => Promise.reject(new TypeError("fetch failed"))) as typeof fetch,
    });
    await expect(down.submitBatch(events)).rejects.toThrow(/no answer: fetch failed/);
    await expect(
      answering(200, {}).submitBatch(Array.from({ length: 26 }, () => events[0]!)),
    ).rejects.toThrow(RangeError);
    expect(await answering(500, "").submitBatch([])).toEqual([]);
  });
});

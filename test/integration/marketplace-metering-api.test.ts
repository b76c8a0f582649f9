/**
 * The reporter against the local Metering API answering in Microsoft's real shapes, on DynamoDB
 * Local (issue 11): the wire shapes themselves, every status end to end, a 429/5xx burst and a
 * timeout after Microsoft accepted retried within one run, a future hour answered Expired, 26
 * dimensions in one hour (two batches), the Entra ID token endpoint (cache, 401 refresh), usage
 * below, at and above the included quantity within an hour, across hours and across months, with
 * the month's reconciliation, the run's metrics, and nothing reported twice.
 */
import { describe, expect, it } from "vitest";
import {
  createMarketplaceReporterHandler,
  runMetrics,
} from "../../functions/marketplace-reporter/handler.js";
import { LocalMeteringApi, type MeteringResource, meteringResourcesOf } from "../../local/metering-api.js";
import {
  entraTokenProvider,
  HttpMeteringClient,
  type HttpMeteringClientOptions,
} from "../../shared/adapters/marketplace/http-metering-client.js";
import { reconcileMarketplaceUsage } from "../../shared/app/reconcile-marketplace.js";
import {
  type MarketplaceRunReport,
  reportMarketplaceUsage,
} from "../../shared/app/report-marketplace-usage.js";
import type { Account } from "../../shared/contract/accounts.js";
import { type BillingConfig, parseAccounts } from "../../shared/core/config.js";
import { reconciliationCsv } from "../../shared/core/marketplace/reconciliation.js";
import type { UsageEventType } from "../../shared/core/products/index.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import {
  MARKETPLACE_EXPIRED_EVENTS_METRIC,
  MARKETPLACE_INCOMPLETE_RUNS_METRIC,
  MARKETPLACE_OVERDUE_PENDING_METRIC,
  MARKETPLACE_REJECTED_EVENTS_METRIC,
} from "../../shared/runtime/observability.js";
import { type EventInput, ev } from "../support/events.js";
import {
  at,
  azureAccount,
  expectNoDoubleReport,
  sentEvents,
  smsOf,
  useMarketplaceLocal,
} from "../support/marketplace-world.js";
import { stdTariffs } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }]);

const azure = (
  accountId: string,
  resourceId: string,
  dimensions: Record<string, string> = { "sms.mt": "sms_mt" },
  included: Record<string, number> = {},
) => azureAccount(accountId, resourceId, { dimensions, included });

const sms = smsOf;

const local = useMarketplaceLocal();

async function world(
  rawAccounts: unknown[],
  start: string,
  opts: {
    resources?: (accounts: Account[]) => MeteringResource[];
    client?: (url: string) => Partial<HttpMeteringClientOptions>;
    entra?: { tenantId: string; clientId: string; clientSecret: string };
  } = {},
) {
  const accounts = parseAccounts(rawAccounts, tariffs);
  const config: BillingConfig = { accounts, tariffs };
  const clock = new VirtualClock(at(start));
  const api = new LocalMeteringApi({
    clock,
    resources: (opts.resources ?? meteringResourcesOf)(accounts),
    ...(opts.entra ? { entra: opts.entra } : {}),
  });
  const url = await local.serve(api);
  // Retries without real waiting: the local API answers at once.
  const client = new HttpMeteringClient({
    baseUrl: url,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...opts.client?.(url),
  });
  const reporter = await local.reporter("mkt-api", { config, clock, client, fromHour: at(start) });
  return { ...reporter, clock, api, url, config };
}

const sent = (reports: readonly MarketplaceRunReport[]) => sentEvents(reports, true);

describe("the local Metering API answers in Microsoft's shapes", () => {
  it("zone-less echoed times, double quantities, resourceUri for SaaS, BadArgument with details[].target, a future hour Expired", async () => {
    const w = await world([azure("contoso", "res-1")], "2025-07-02T12:30:00Z");
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${w.url}/api/${path}?api-version=2018-08-31`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, text: await res.text() };
    };
    const event = (hour: string, quantity = 2) => ({
      resourceId: "res-1",
      planId: "plan-std",
      dimension: "sms_mt",
      quantity,
      effectiveStartTime: hour,
    });
    const batch = await post("batchUsageEvent", {
      request: [
        event("2025-07-02T11:00:00Z"),
        event("2025-07-02T13:00:00Z", 1.5),
        { ...event("2025-07-02T10:00:00Z"), planId: "" },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.text).toContain('"quantity":2.0');
    const [accepted, future, bad] = (JSON.parse(batch.text) as { result: Record<string, unknown>[] }).result;
    expect(accepted).toMatchObject({
      status: "Accepted",
      effectiveStartTime: "2025-07-02T11:00:00",
      resourceUri: expect.stringMatching(/\/providers\/Microsoft\.SaaS\/resources\/res-1$/),
    });
    expect(accepted).not.toHaveProperty("error");
    expect(future).toMatchObject({
      status: "Expired",
      quantity: 1.5,
      effectiveStartTime: "2025-07-02T13:00:00",
      error: {
        code: "BadArgument",
        details: [
          {
            code: "BadArgument",
            target: "effectiveStartTime",
            message: "The effective time provided is has expired or is in future.",
          },
        ],
      },
    });
    expect(bad).toMatchObject({
      status: "BadArgument",
      error: { code: "BadArgument", details: [{ target: "planId" }] },
    });
    // The single-event endpoint: a second event for the hour is a 409 with the accepted message.
    const conflict = await post("usageEvent", event("2025-07-02T11:00:00Z", 3));
    expect(conflict.status).toBe(409);
    expect(JSON.parse(conflict.text)).toMatchObject({
      code: "Conflict",
      additionalInfo: { acceptedMessage: { quantity: 2, effectiveStartTime: "2025-07-02T11:00:00" } },
    });
    const tooMany = await post("batchUsageEvent", {
      request: Array.from({ length: 26 }, () => event("2025-07-02T11:00:00Z")),
    });
    expect(tooMany.status).toBe(400);
    expect(JSON.parse(tooMany.text)).toMatchObject({ code: "BadArgument", details: [{ target: "request" }] });
    // And the client reads all of it: a future hour is Expired, sent alone or in a batch.
    const client = new HttpMeteringClient({ baseUrl: w.url, retry: { maxAttempts: 1 } });
    const [alone] = await client.submitBatch([event("2025-07-02T14:00:00Z")]);
    expect(alone).toMatchObject({ status: "Expired", error: { targets: ["effectiveStartTime"] } });
    expect(w.api.accepted()).toHaveLength(1);
  });
});

describe("the reporter against the local Metering API", () => {
  it("every status end to end: accepted, refusals kept with Microsoft's reason and counted, Error left pending and accepted on the next run", async () => {
    const accounts = [
      azure("ok", "res-ok"),
      azure("unauthorized", "res-unauthorized"),
      azure("inactive", "res-inactive"),
      azure("unknown", "res-unknown"),
      azure("wrong-dimension", "res-wrong-dimension"),
      azure("error", "res-error"),
    ];
    const w = await world(accounts, "2025-07-02T09:00:00Z", {
      resources: (parsed) =>
        meteringResourcesOf(parsed)
          .filter((r) => r.resourceId !== "res-unknown")
          .map((r) =>
            r.resourceId === "res-unauthorized"
              ? { ...r, state: "unauthorized" as const }
              : r.resourceId === "res-inactive"
                ? { ...r, state: "inactive" as const }
                : r.resourceId === "res-wrong-dimension"
                  ? { ...r, dimensions: ["email"] }
                  : r,
          ),
    });
    await w.ingest(accounts.map((a) => sms(a.accountId, "2025-07-02T09:30:00Z")));
    // The Marketplace answers account "error"'s event with Error (a failure on its side).
    w.api.answerNextEventsWith(1, "Error", "res-error");
    w.clock.advanceTo(at("2025-07-02T10:00:00Z"));
    const report = await w.run();
    expect(sent([report])).toEqual([
      ["ok", "2025-07-02T09:00:00Z", "sms_mt", "1", "accepted"],
      ["unauthorized", "2025-07-02T09:00:00Z", "sms_mt", "1", "rejected"],
      ["inactive", "2025-07-02T09:00:00Z", "sms_mt", "1", "rejected"],
      ["unknown", "2025-07-02T09:00:00Z", "sms_mt", "1", "rejected"],
      ["wrong-dimension", "2025-07-02T09:00:00Z", "sms_mt", "1", "rejected"],
      ["error", "2025-07-02T09:00:00Z", "sms_mt", "1", "pending"],
    ]);
    const statuses = report.accounts.flatMap((a) => a.events.map((e) => e.marketplaceStatus));
    expect(statuses).toEqual([
      "Accepted",
      "ResourceNotAuthorized",
      "ResourceNotActive",
      "ResourceNotFound",
      "InvalidDimension",
      "Error",
    ]);
    expect(report.needsAttention.map((e) => e.reason)).toEqual([
      expect.stringMatching(/^ResourceNotAuthorized: resourceId: .*not authorized/),
      expect.stringMatching(/^ResourceNotActive: resourceId: /),
      expect.stringMatching(/^ResourceNotFound: resourceId: /),
      expect.stringMatching(/^InvalidDimension: dimension: /),
    ]);
    expect(runMetrics(report)).toEqual({
      [MARKETPLACE_REJECTED_EVENTS_METRIC]: 4,
      [MARKETPLACE_EXPIRED_EVENTS_METRIC]: 0,
      [MARKETPLACE_OVERDUE_PENDING_METRIC]: 0,
      [MARKETPLACE_INCOMPLETE_RUNS_METRIC]: 0,
    });
    expect((await w.store.usageRecords("error")).map((r) => [r.status, r.lastError])).toEqual([
      ["pending", expect.stringMatching(/^Error: .*sent again/)],
    ]);
    // The next run sends only the Error one again; the refusals are never resent.
    w.clock.advanceTo(at("2025-07-02T11:00:00Z"));
    const next = await w.run();
    expect(sent([next])).toEqual([["error", "2025-07-02T09:00:00Z", "sms_mt", "1", "accepted"]]);
    expect(w.api.accepted().map((e) => e.resourceId)).toEqual(["res-ok", "res-error"]);
    expectNoDoubleReport(w.api);
  });

  it("a 429/5xx burst and a lost connection are retried within the run: accepted at once, nothing twice", async () => {
    const w = await world([azure("contoso", "res-1")], "2025-07-02T09:00:00Z");
    await w.ingest([sms("contoso", "2025-07-02T09:10:00Z")]);
    w.api.failNext(2, { status: 429, retryAfter: "0" });
    w.api.failNext(2, { status: 503 });
    w.api.failNext(1, { mode: "reset" });
    const [report] = await w.runHourly("2025-07-02T10:00:00Z");
    expect(sent([report!])).toEqual([["contoso", "2025-07-02T09:00:00Z", "sms_mt", "1", "accepted"]]);
    expect(report!.callErrors).toEqual([]);
    expect(w.api.stats().calls).toBe(6);
    expect(w.api.accepted()).toHaveLength(1);
  });

  it("a timeout after Microsoft accepted: the retry is answered Duplicate and the hour recorded accepted, once", async () => {
    const w = await world([azure("contoso", "res-1"), azure("fabrikam", "res-2")], "2025-07-02T09:00:00Z", {
      client: () => ({ timeoutMs: 1500 }),
    });
    await w.ingest([sms("contoso", "2025-07-02T09:10:00Z"), sms("fabrikam", "2025-07-02T09:20:00Z")]);
    // The Marketplace takes the batch and never answers; then the connection drops after the next one.
    w.api.failNext(1, { afterProcessing: true, mode: "hang" });
    w.api.failNext(1, { afterProcessing: true, mode: "reset" });
    const [report] = await w.runHourly("2025-07-02T10:00:00Z");
    expect(sent([report!])).toEqual([
      ["contoso", "2025-07-02T09:00:00Z", "sms_mt", "1", "duplicate"],
      ["fabrikam", "2025-07-02T09:00:00Z", "sms_mt", "1", "duplicate"],
    ]);
    expect(report!.needsAttention).toEqual([]);
    expect((await w.store.usageRecords("contoso")).map((r) => [r.status, r.marketplaceStatus])).toEqual([
      ["accepted", "Duplicate"],
    ]);
    expect(w.api.accepted()).toHaveLength(2);
    expect(w.api.stats().calls).toBe(3);
    expectNoDoubleReport(w.api);
  });

  it("a run whose time budget is spent leaves its batches pending (incomplete run), and the next run sends them", async () => {
    const w = await world([azure("contoso", "res-1")], "2025-07-02T09:00:00Z");
    await w.ingest([sms("contoso", "2025-07-02T09:10:00Z")]);
    w.clock.advanceTo(at("2025-07-02T10:00:00Z"));
    const spent = await reportMarketplaceUsage(w.deps, { fromHour: at("2025-07-02T09:00:00Z"), deadline: 0 });
    expect(spent.unsentForTimeBudget).toBe(1);
    expect(spent.calls).toBe(0);
    expect(runMetrics(spent)[MARKETPLACE_INCOMPLETE_RUNS_METRIC]).toBe(1);
    // Twenty hours after the hour ended it is overdue: the alarm's metric counts it.
    w.clock.advanceTo(at("2025-07-03T06:00:00Z"));
    const late = await reportMarketplaceUsage(w.deps, { deadline: 0 });
    expect(late.overduePending).toBe(1);
    w.clock.advanceTo(at("2025-07-03T07:00:00Z"));
    const handlerLog: string[] = [];
    const emitted: [string, number][] = [];
    const done = await createMarketplaceReporterHandler(w.deps, {
      log: (l) => handlerLog.push(l),
      metric: (name, value) => emitted.push([name, value]),
    })({}, { getRemainingTimeInMillis: () => 300_000 });
    expect(sent([done])).toEqual([["contoso", "2025-07-02T09:00:00Z", "sms_mt", "1", "accepted"]]);
    expect(emitted).toEqual([
      [MARKETPLACE_REJECTED_EVENTS_METRIC, 0],
      [MARKETPLACE_EXPIRED_EVENTS_METRIC, 0],
      [MARKETPLACE_OVERDUE_PENDING_METRIC, 0],
      [MARKETPLACE_INCOMPLETE_RUNS_METRIC, 0],
    ]);
  });

  it("26 dimensions used in one hour go out as two batches (25 + 1) to the local Metering API, each accepted once", async () => {
    /** The dimension `key` (by default the event type), and its event at `t` from account "wide". */
    const wide = <T extends UsageEventType>(
      type: T,
      data: EventInput<T> | ((t: string) => EventInput<T>),
      key: string = type,
    ): [string, (t: string) => LedgerEvent] => [
      key,
      (t) => ev(type, t, typeof data === "function" ? data(t) : data, { subject: "wide" }),
    ];
    const delivered = { endUserId: "u", delivered: true };
    const products: [string, (t: string) => LedgerEvent][] = [
      wide("sms.mt", { to: "1", country: "TR", status: "submitted" }),
      wide("mms.mt", { to: "1", country: "TR", status: "submitted" }),
      wide("rcs.mt", { to: "1", country: "TR", status: "submitted", delivered: true }),
      wide("sms.mo", { from: "1", country: "TR", status: "accepted" }),
      wide("mms.mo", { from: "1", country: "TR", status: "accepted" }),
      wide("rcs.mo", { from: "1", country: "TR", status: "accepted" }),
      wide("number_lookup.request", { msisdn: "1", country: "TR", status: "sent" }),
      wide("email.message", { to: "a@b.c", status: "submitted" }),
      wide("email.validation", { address: "a@b.c", status: "submitted" }),
      wide("push.notification", { platform: "ios", status: "submitted" }),
      wide("line.message", delivered),
      wide("zalo.message", delivered),
      wide("kakao.message", { endUserId: "u", product: "alimtalk", delivered: true }, "kakao.alimtalk"),
      wide("kakao.message", { endUserId: "u", product: "chingutalk", delivered: true }, "kakao.chingutalk"),
      wide("ussd.session", (t) => ({ sessionId: `s-${t}`, country: "TR", initiatedBy: "account" })),
      wide("kakao.sangdam_session", (t) => ({ endUserId: "u", sessionId: `k-${t}` })),
      wide("messenger.message", delivered, "messenger.active_user"),
      wide("telegram.message", delivered, "telegram.active_user"),
      wide("google_bm.message", delivered, "google_bm.active_user"),
      wide("apple_bc.message", delivered, "apple_bc.active_user"),
      wide("genai.interaction", { feature: "summarize", units: 2.5 }),
      ...(["marketing", "utility", "authentication"] as const).map((category) =>
        wide(
          "whatsapp.message",
          { endUserId: `u-${category}`, senderId: "wa1", kind: "template", category, delivered: true },
          `whatsapp.template.${category}`,
        ),
      ),
      // One call: voice.minute and voice.amd.
      wide(
        "voice.call",
        (t) => ({
          callId: `c-${t}`,
          service: "calls",
          direction: "outbound",
          country: "US",
          answered: true,
          durationSeconds: 61,
          amd: true,
        }),
        "voice.minute",
      ),
    ];
    const dimensions = Object.fromEntries(
      [...products.map(([key]) => key), "voice.amd"].map((key) => [key, `d_${key.replaceAll(".", "_")}`]),
    );
    const w = await world([azure("wide", "res-wide", dimensions)], "2025-07-02T09:00:00Z");
    await w.ingest(
      products.map(([, make], i) => make(`2025-07-02T09:${String(10 + i).padStart(2, "0")}:00Z`)),
    );
    const [report] = await w.runHourly("2025-07-02T10:00:00Z");
    const events = report!.accounts[0]!.events;
    expect(events.map((e) => e.dimension).sort()).toEqual(Object.values(dimensions).sort());
    expect(events).toHaveLength(26);
    expect(events.every((e) => e.outcome === "accepted")).toBe(true);
    expect(new Set(events.map((e) => e.effectiveStartTime))).toEqual(new Set(["2025-07-02T09:00:00Z"]));
    expect(report!.calls).toBe(2);
    expect(w.api.stats()).toMatchObject({ calls: 2, events: events.length, largestBatch: 25 });
    expect(w.api.accepted()).toHaveLength(events.length);
    const genai = events.find((e) => e.dimension === "d_genai_interaction");
    expect(genai?.quantity).toBe("2.5");
    expect((await w.run()).calls).toBe(0);
    expectNoDoubleReport(w.api);
  });

  it("an Entra ID token from the token endpoint is cached across calls and runs, and renewed after a 401 (rotation)", async () => {
    const entra = { tenantId: "tenant-1", clientId: "client-1", clientSecret: "secret-1" };
    let reads = 0;
    const w = await world([azure("contoso", "res-1")], "2025-07-02T09:00:00Z", {
      entra,
      client: (url) => ({
        token: entraTokenProvider({
          credentials: async () => {
            reads += 1;
            return entra;
          },
          authority: url,
        }),
      }),
    });
    await w.ingest([sms("contoso", "2025-07-02T09:10:00Z"), sms("contoso", "2025-07-02T10:10:00Z")]);
    await w.runHourly("2025-07-02T11:00:00Z");
    expect(w.api.tokenRequests()).toBe(1);
    w.api.revokeTokens();
    await w.ingest([sms("contoso", "2025-07-02T11:10:00Z")]);
    const [after] = await w.runHourly("2025-07-02T12:00:00Z");
    expect(sent([after!])).toEqual([["contoso", "2025-07-02T11:00:00Z", "sms_mt", "1", "accepted"]]);
    expect(w.api.tokenRequests()).toBe(2);
    expect(reads).toBe(2);
    expect(w.api.accepted()).toHaveLength(3);
  });

  it("usage below, at and above the included quantity within an hour, across hours and across months; the months reconcile", async () => {
    const w = await world(
      [azure("contoso", "res-1", { "sms.mt": "sms_mt" }, { sms_mt: 3 })],
      "2025-07-31T20:00:00Z",
    );
    await w.ingest([
      sms("contoso", "2025-07-31T20:10:00Z"),
      sms("contoso", "2025-07-31T20:20:00Z"), // 2: below
      sms("contoso", "2025-07-31T21:10:00Z"), // 3: at
      sms("contoso", "2025-07-31T22:10:00Z"),
      sms("contoso", "2025-07-31T22:20:00Z"), // 5: above by 2
      sms("contoso", "2025-07-31T23:05:00Z"), // crosses within the hour: 6
      sms("contoso", "2025-08-01T00:10:00Z"), // August: included again
      sms("contoso", "2025-08-01T00:20:00Z"),
      sms("contoso", "2025-08-01T00:30:00Z"), // 3: at
      sms("contoso", "2025-08-01T01:10:00Z"), // 4: above by 1
    ]);
    const reports = await w.runHourly("2025-08-01T03:00:00Z");
    expect(sent(reports)).toEqual([
      ["contoso", "2025-07-31T22:00:00Z", "sms_mt", "2", "accepted"],
      ["contoso", "2025-07-31T23:00:00Z", "sms_mt", "1", "accepted"],
      ["contoso", "2025-08-01T01:00:00Z", "sms_mt", "1", "accepted"],
    ]);
    const rows = [
      ...(await reconcileMarketplaceUsage(w.deps, "2025-07")),
      ...(await reconcileMarketplaceUsage(w.deps, "2025-08")),
    ];
    expect(reconciliationCsv(rows)).toBe(
      [
        "account_id,period,resource_id,plan_id,dimension,rated_quantity,included_quantity,overage_quantity,accepted_quantity,rejected_quantity,pending_quantity,status,expired_quantity",
        "contoso,2025-07,res-1,plan-std,sms_mt,6,3,3,3,0,0,reconciled,0",
        "contoso,2025-08,res-1,plan-std,sms_mt,4,3,1,1,0,0,reconciled,0",
        "",
      ].join("\n"),
    );
    // A late July event after its hours were reported: July is short until the next run reports it.
    await w.ingest([sms("contoso", "2025-07-31T23:50:00Z")]);
    const short = await reconcileMarketplaceUsage(w.deps, "2025-07");
    expect(
      short.map((r) => [r.rated.toString(), r.overage.toString(), r.accepted.toString(), r.status]),
    ).toEqual([["7", "4", "3", "short"]]);
    const [next] = await w.runHourly("2025-08-01T04:00:00Z");
    expect(sent([next!])).toEqual([["contoso", "2025-08-01T03:00:00Z", "sms_mt", "1", "accepted"]]);
    expect((await reconcileMarketplaceUsage(w.deps, "2025-07"))[0]?.status).toBe("reconciled");
    expectNoDoubleReport(w.api);
  });
});

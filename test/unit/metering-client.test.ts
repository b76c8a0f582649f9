/**
 * The HTTP metering client against answers in Microsoft's real shapes (fixtures/marketplace: a batch
 * with every status, zone-less echoed times, double quantities, resourceUri echoed for SaaS; the
 * single-event 409 and 400), and its retries: 429/5xx bursts with Retry-After and backoff within
 * the run's deadline, a timeout followed by Duplicate, a 401 that re-reads the credentials, and
 * the Entra ID token cache. fetch is the only stand-in: it plays Microsoft's side of the wire.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  entraTokenProvider,
  HttpMeteringClient,
  type HttpMeteringClientOptions,
  retryAfterMs,
  sameQuantity,
} from "../../shared/adapters/marketplace/http-metering-client.js";
import { parseMarketplaceCredentials } from "../../shared/adapters/marketplace/secrets-manager-credentials.js";
import { outcomeOfStatus } from "../../shared/core/marketplace/statuses.js";
import type { UsageEventRequest } from "../../shared/core/marketplace/usage.js";
import { MeteringCallError } from "../../shared/ports/marketplace.js";

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/marketplace/${name}`, import.meta.url), "utf8");

const R1 = "11111111-1111-1111-1111-111111111111";
const ev = (over: Partial<UsageEventRequest>): UsageEventRequest => ({
  resourceId: R1,
  planId: "plan-std",
  dimension: "sms_mt",
  quantity: 1,
  effectiveStartTime: "2025-07-02T10:00:00Z",
  ...over,
});

type Reply = { status: number; body?: string; headers?: Record<string, string> } | Error;
interface Seen {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A fetch that plays the given replies in order and records each request. */
function wire(replies: Reply[]) {
  const seen: Seen[] = [];
  const fakeFetch = (async (url: URL | string, init?: RequestInit) => {
    seen.push({
      url: String(url),
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: String(init?.body ?? ""),
    });
    const r = replies.shift();
    if (!r) throw new Error("no more replies");
    if (r instanceof Error) throw r;
    return new Response(r.body ?? "", { status: r.status, headers: r.headers ?? {} });
  }) as typeof globalThis.fetch;
  return { fetch: fakeFetch, seen };
}

function client(replies: Reply[], over: Partial<HttpMeteringClientOptions> = {}) {
  const w = wire(replies);
  const sleeps: number[] = [];
  let now = 1_000_000;
  const c = new HttpMeteringClient({
    baseUrl: "https://marketplaceapi.microsoft.com",
    fetch: w.fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    now: () => now,
    random: () => 1,
    retry: { baseDelayMs: 100, maxDelayMs: 1000 },
    ...over,
  });
  return { c, seen: w.seen, sleeps, now: () => now };
}

const ok = (body: unknown) => ({ status: 200, body: typeof body === "string" ? body : JSON.stringify(body) });

describe("answers in Microsoft's shapes", () => {
  const requests = [
    ev({ dimension: "fax" }),
    ev({ dimension: "sms_mt", quantity: 2, effectiveStartTime: "2025-07-02T13:00:00Z" }),
    ev({ resourceId: "22222222-2222-2222-2222-222222222222" }),
    ev({ dimension: "genai", quantity: 9.123456789012346 }),
    ev({ dimension: "sms_mt", quantity: 9 }),
    ev({ dimension: "email" }),
    ev({ resourceId: "33333333-3333-3333-3333-333333333333" }),
    ev({ resourceId: "44444444-4444-4444-4444-444444444444" }),
    ev({ dimension: "voice", quantity: 0 }),
    ev({ dimension: "rcs", planId: "" }),
  ];

  it("a batch with every status: matched by resource, dimension and hour (zone-less echo, double quantities), outcome from status alone", async () => {
    const { c, seen } = client([ok(fixture("batch-every-status.json"))]);
    const results = await c.submitBatch(requests);
    expect(results.map((r) => [r.status, outcomeOfStatus(r.status).kind])).toEqual([
      ["InvalidDimension", "rejected-final"],
      ["Expired", "rejected-final"],
      ["ResourceNotFound", "rejected-final"],
      ["Accepted", "accepted"],
      ["Duplicate", "duplicate-accepted"],
      ["Error", "retry"],
      ["ResourceNotAuthorized", "rejected-final"],
      ["ResourceNotActive", "rejected-final"],
      ["InvalidQuantity", "rejected-final"],
      ["BadArgument", "rejected-final"],
    ]);
    // The double echo (9.1234567890123461) is the quantity sent, at the precision sent.
    expect(results[3]).toMatchObject({ usageEventId: "0f4a3b8e-2a1f-4c43-9a2d-6b0d1e0c0a01" });
    expect(sameQuantity(9.123456789012346, results[3]!.acceptedQuantity!)).toBe(true);
    // A Duplicate tells what the Marketplace holds, from the earlier accepted message.
    expect(results[4]).toMatchObject({
      acceptedQuantity: 9,
      usageEventId: "0f4a3b8e-2a1f-4c43-9a2d-6b0d1e0c0a02",
    });
    // Every refusal says BadArgument in error.code; the field and Microsoft's words are kept.
    expect(results[1]!.error).toEqual({
      code: "BadArgument",
      message: "effectiveStartTime: The effective time provided is has expired or is in future.",
      targets: ["effectiveStartTime"],
    });
    expect(results[9]!.error?.targets).toEqual(["planId"]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe(
      "https://marketplaceapi.microsoft.com/api/batchUsageEvent?api-version=2018-08-31",
    );
    expect(JSON.parse(seen[0]!.body)).toEqual({ request: requests });
  });

  it("the same answers in another order, and an echo that names the resource only by resourceUri, match the same requests", async () => {
    const body = JSON.parse(fixture("batch-every-status.json")) as { result: Record<string, unknown>[] };
    body.result.reverse();
    const managed = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Solutions/applications/app1";
    const { c } = client([
      ok({
        result: [
          {
            status: "Accepted",
            usageEventId: "m-1",
            resourceUri: managed,
            quantity: 4.0,
            dimension: "sms_mt",
            effectiveStartTime: "2025-07-02T10:00:00",
            planId: "plan-std",
          },
          ...body.result,
        ],
        count: 11,
      }),
    ]);
    const withManaged = [...requests, { ...ev({ quantity: 4 }), resourceId: managed }];
    const results = await c.submitBatch(withManaged);
    expect(results.map((r) => r.status)).toEqual([
      "InvalidDimension",
      "Expired",
      "ResourceNotFound",
      "Accepted",
      "Duplicate",
      "Error",
      "ResourceNotAuthorized",
      "ResourceNotActive",
      "InvalidQuantity",
      "BadArgument",
      "Accepted",
    ]);
    expect(results[10]!.usageEventId).toBe("m-1");
  });

  it("compares quantities as decimals at the precision sent", () => {
    expect(sameQuantity(9.123456789012346, 9.1234567890123461)).toBe(true);
    expect(sameQuantity(9, 9.0)).toBe(true);
    expect(sameQuantity(1.25, 1.2500000000000002)).toBe(true);
    expect(sameQuantity(1.25, 1.26)).toBe(false);
    expect(sameQuantity(1e-7, 1.0000000000000001e-7)).toBe(true);
  });

  it("one event goes to /usageEvent: 200 accepted, 409 a Duplicate with the accepted message, 400 Expired for a future hour", async () => {
    const accepted = {
      usageEventId: "u-7",
      status: "Accepted",
      messageTime: "2025-07-02T11:00:01.0000000Z",
      resourceId: R1,
      quantity: 3.0,
      dimension: "sms_mt",
      effectiveStartTime: "2025-07-02T10:00:00",
      planId: "plan-std",
    };
    const { c, seen } = client([
      ok(accepted),
      { status: 409, body: fixture("single-conflict-409.json") },
      { status: 400, body: fixture("single-expired-400.json") },
    ]);
    const one = [ev({ quantity: 3 })];
    expect(await c.submitBatch(one)).toEqual([
      {
        status: "Accepted",
        usageEventId: "u-7",
        messageTime: "2025-07-02T11:00:01.0000000Z",
        acceptedQuantity: 3,
      },
    ]);
    expect(await c.submitBatch(one)).toEqual([
      {
        status: "Duplicate",
        usageEventId: "0f4a3b8e-2a1f-4c43-9a2d-6b0d1e0c0a09",
        acceptedQuantity: 3,
        error: { code: "Conflict", message: "This usage event already exist." },
      },
    ]);
    const [future] = await c.submitBatch([ev({ effectiveStartTime: "2025-07-03T10:00:00Z" })]);
    expect(future).toMatchObject({ status: "Expired", error: { targets: ["effectiveStartTime"] } });
    expect(outcomeOfStatus(future!.status)).toMatchObject({ kind: "rejected-final", expired: true });
    expect(seen.map((s) => s.url)).toEqual(
      Array(3).fill("https://marketplaceapi.microsoft.com/api/usageEvent?api-version=2018-08-31"),
    );
    expect(JSON.parse(seen[0]!.body)).toEqual(one[0]);
  });

  it("a batch refused whole (400, more than 25) and a 403 are no per-event answer: not retried, MeteringCallError", async () => {
    const { c, seen } = client([
      { status: 400, body: fixture("batch-too-large-400.json") },
      { status: 403, body: "" },
    ]);
    const two = [ev({}), ev({ dimension: "email" })];
    await expect(c.submitBatch(two)).rejects.toMatchObject({ name: "MeteringCallError", httpStatus: 400 });
    await expect(c.submitBatch(two)).rejects.toMatchObject({ httpStatus: 403 });
    expect(seen).toHaveLength(2);
  });
});

describe("retries within the run's time budget", () => {
  const two = [ev({}), ev({ dimension: "email" })];
  const answer = {
    result: [
      {
        status: "Accepted",
        resourceId: R1,
        dimension: "sms_mt",
        quantity: 1.0,
        effectiveStartTime: "2025-07-02T10:00:00",
      },
      {
        status: "Accepted",
        resourceId: R1,
        dimension: "email",
        quantity: 1.0,
        effectiveStartTime: "2025-07-02T10:00:00",
      },
    ],
    count: 2,
  };

  it("a 429/5xx burst: waits Retry-After when given, else exponential backoff with jitter, then takes the answer", async () => {
    const { c, seen, sleeps } = client(
      [
        { status: 429, body: "{}", headers: { "Retry-After": "3" } },
        { status: 503, body: "busy" },
        { status: 500, body: "oops" },
        { status: 502, body: "" },
        ok(answer),
      ],
      { random: () => 0.5 },
    );
    expect((await c.submitBatch(two)).map((r) => r.status)).toEqual(["Accepted", "Accepted"]);
    // 3 s from Retry-After; then min(1000, 100·2^(n−1)) × jitter 0.5.
    expect(sleeps).toEqual([3000, 100, 200, 400]);
    expect(seen).toHaveLength(5);
    // Each attempt is a request of its own, all under the client's correlation id.
    expect(new Set(seen.map((s) => s.headers["x-ms-requestid"])).size).toBe(5);
    expect(new Set(seen.map((s) => s.headers["x-ms-correlationid"])).size).toBe(1);
  });

  it("gives up when the next wait would pass the deadline, or after maxAttempts: the events stay for the next run", async () => {
    const t = client([{ status: 503 }, { status: 503 }, { status: 503 }]);
    // now 1,000,000; waits 100 then 200 (jitter 1): the third wait would end past the deadline.
    await expect(t.c.submitBatch(two, { deadline: 1_000_000 + 350 })).rejects.toThrow(
      /HTTP 503.*after 3 attempts, retrying would pass the run's time budget/,
    );
    expect(t.sleeps).toEqual([100, 200]);
    const hinted = client([{ status: 429, headers: { "Retry-After": "120" } }]);
    await expect(hinted.c.submitBatch(two, { deadline: 1_000_000 + 60_000 })).rejects.toThrow(/time budget/);
    expect(hinted.sleeps).toEqual([]);
    const capped = client(
      Array.from({ length: 3 }, () => ({ status: 500 })),
      { retry: { maxAttempts: 3, baseDelayMs: 1 } },
    );
    await expect(capped.c.submitBatch(two)).rejects.toBeInstanceOf(MeteringCallError);
    expect(capped.sleeps).toHaveLength(2);
  });

  it("a timeout after Microsoft accepted: the retry is answered Duplicate, which the caller records as accepted", async () => {
    const timeout = new DOMException("The operation was aborted due to timeout", "TimeoutError");
    const { c } = client([
      timeout,
      new TypeError("fetch failed"),
      { status: 409, body: fixture("single-conflict-409.json") },
    ]);
    const [r] = await c.submitBatch([ev({ quantity: 3 })]);
    expect(r!.status).toBe("Duplicate");
    expect(outcomeOfStatus(r!.status).kind).toBe("duplicate-accepted");
  });

  it("parses Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("7", 0)).toBe(7000);
    expect(retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("2015-10-21T07:27:30Z"))).toBe(30_000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});

describe("Entra ID token", () => {
  const tokenReply = (token: string, expiresIn = 3599) =>
    ok({ token_type: "Bearer", expires_in: String(expiresIn), access_token: token });

  it("client credentials for the Marketplace resource, cached until 5 minutes before expiry, then refreshed", async () => {
    const w = wire([tokenReply("t1"), tokenReply("t2")]);
    let now = 0;
    let reads = 0;
    const provider = entraTokenProvider({
      credentials: async () => {
        reads += 1;
        return { tenantId: "tenant-1", clientId: "client-1", clientSecret: "s3cret" };
      },
      fetch: w.fetch,
      now: () => now,
    });
    expect(await provider.token()).toBe("t1");
    now = (3599 - 301) * 1000;
    expect(await provider.token()).toBe("t1");
    now = (3599 - 299) * 1000;
    expect(await provider.token()).toBe("t2");
    expect(provider.fetches()).toBe(2);
    expect(reads).toBe(1); // the credentials are read once, not per token
    expect(w.seen[0]!.url).toBe("https://login.microsoftonline.com/tenant-1/oauth2/token");
    expect(Object.fromEntries(new URLSearchParams(w.seen[0]!.body))).toEqual({
      grant_type: "client_credentials",
      client_id: "client-1",
      client_secret: "s3cret",
      resource: "20e940b3-4c77-4b0b-9a53-9e16a1b010a7",
    });
  });

  it("a 401 from the Metering API re-reads the credentials (a rotated secret), fetches a new token and retries once", async () => {
    const secrets = ["old", "new", "newer"];
    let reads = 0;
    const tokens = wire([tokenReply("t-old"), tokenReply("t-new"), tokenReply("t-newer")]);
    const provider = entraTokenProvider({
      credentials: async () => ({ tenantId: "t", clientId: "c", clientSecret: secrets[reads++]! }),
      fetch: tokens.fetch,
    });
    const { c, seen } = client(
      [
        { status: 401, body: "" },
        ok({
          usageEventId: "u",
          status: "Accepted",
          resourceId: R1,
          quantity: 1.0,
          dimension: "sms_mt",
          effectiveStartTime: "2025-07-02T10:00:00",
          planId: "plan-std",
        }),
      ],
      { token: provider },
    );
    expect((await c.submitBatch([ev({})]))[0]!.status).toBe("Accepted");
    expect(seen.map((s) => s.headers.authorization)).toEqual(["Bearer t-old", "Bearer t-new"]);
    expect(reads).toBe(2);
    expect(new URLSearchParams(tokens.seen[1]!.body).get("client_secret")).toBe("new");
    // A second 401 in the same call is not retried again.
    const again = client([{ status: 401 }, { status: 401 }], { token: provider });
    await expect(again.c.submitBatch([ev({})])).rejects.toMatchObject({ httpStatus: 401 });
  });

  it("a refused token request names the status, never the secret; the secret's JSON is checked field by field", async () => {
    const w = wire([{ status: 401, body: '{"error":"invalid_client","error_description":"AADSTS7000215"}' }]);
    const provider = entraTokenProvider({
      credentials: async () => ({ tenantId: "t", clientId: "c", clientSecret: "do-not-print" }),
      fetch: w.fetch,
    });
    const error = await provider.token().catch((e: Error) => e);
    expect(String(error)).toMatch(/HTTP 401.*invalid_client/);
    expect(String(error)).not.toMatch(/do-not-print/);
    expect(parseMarketplaceCredentials('{"tenantId":"t","clientId":"c","clientSecret":"x"}', "arn")).toEqual({
      tenantId: "t",
      clientId: "c",
      clientSecret: "x",
    });
    expect(() => parseMarketplaceCredentials('{"tenantId":"t","clientSecret":"hush"}', "arn:s")).toThrow(
      /secret arn:s: missing or empty clientId/,
    );
    expect(() => parseMarketplaceCredentials("hush", "arn:s")).toThrow(/not JSON/);
    expect(
      String(
        (() => {
          try {
            parseMarketplaceCredentials("hush", "a");
          } catch (e) {
            return e;
          }
        })(),
      ),
    ).not.toMatch(/hush/);
  });

  it("a stage naming its tenant and application: the secret may hold only the client secret; another's is refused", () => {
    const known = { tenantId: "t-dev", clientId: "c-dev" };
    expect(parseMarketplaceCredentials('{"clientSecret":"x"}', "arn", known)).toEqual({
      tenantId: "t-dev",
      clientId: "c-dev",
      clientSecret: "x",
    });
    expect(
      parseMarketplaceCredentials('{"tenantId":"t-dev","clientSecret":"x"}', "arn", known),
    ).toMatchObject({
      tenantId: "t-dev",
    });
    expect(() =>
      parseMarketplaceCredentials(
        '{"tenantId":"t-prod","clientId":"c-dev","clientSecret":"hush"}',
        "arn:s",
        known,
      ),
    ).toThrow(/secret arn:s: its tenantId is not the stage's/);
    expect(() => parseMarketplaceCredentials('{"clientSecret":"x"}', "arn:s")).toThrow(
      /missing or empty tenantId/,
    );
  });
});

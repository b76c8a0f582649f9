/**
 * The finance API (issue 10 item 2) on the local stack (DynamoDB Local, SQS server,
 * the close worker): examples/moments (4 accounts, one in Europe/Istanbul) ingested, previewed, then
 * closed. The Lambda handler gets API Gateway HTTP API payload 2.0 events shaped as AWS sends them
 * through an IAM-authorized route; the local HTTP server streams the same CSV chunk by chunk.
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join, resolve } from "node:path";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigFiles } from "../../cli/simulate.js";
import { createFinanceApiHandler, handler as lambdaHandler } from "../../functions/finance-api/handler.js";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { startFinanceApiServer } from "../../local/finance-api-server.js";
import {
  createStreamingFinanceApi,
  type FinanceApiDeps,
  isStreamed,
  type StreamedResult,
} from "../../shared/app/finance-api.js";
import { previewPeriod } from "../../shared/app/preview-period.js";
import { invoiceLinesToCsv, sortInvoiceLines } from "../../shared/core/rating/invoice.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { allLines } from "../support/table-scans.js";

const fixedClock = (at: string): Clock => ({ now: () => Date.parse(at) });

const root = resolve(import.meta.dirname, "..", "..");
const example = join(root, "examples", "moments");
/** The scenario's expected lines: blank cells are not compared (examples/README.md). */
const expectedRows = readFileSync(join(example, "expected-invoice-lines.csv"), "utf8").trimEnd().split("\n");

const decodedOrRaw = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** The event API Gateway (HTTP API, payload 2.0, IAM authorizer, `$default` stage) sends the Lambda. */
function awsEvent(routeKey: string, url: string, method = "GET"): APIGatewayProxyEventV2 {
  const u = new URL(url, "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com");
  const query: Record<string, string> = {};
  for (const [k, v] of u.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const routePath = routeKey.split(" ")[1] as string;
  const names = [...routePath.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const values = new RegExp(`^${routePath.replace(/\{\w+\}/g, "([^/]+)")}$`).exec(u.pathname)?.slice(1) ?? [];
  return {
    version: "2.0",
    routeKey,
    rawPath: u.pathname,
    rawQueryString: u.search.slice(1),
    headers: {
      accept: "*/*",
      "content-length": "0",
      host: u.host,
      "user-agent": "aws-cli/2.22.0",
      "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "x-amz-date": "20260802T090000Z",
      "x-amz-security-token": "IQoJb3JpZ2luX2VjEXAMPLE",
      "x-amzn-trace-id": "Root=1-6a1b2c3d-0123456789abcdef01234567",
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-port": "443",
      "x-forwarded-proto": "https",
    },
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(names.length
      ? {
          pathParameters: Object.fromEntries(names.map((n, i) => [n, decodedOrRaw(values[i] ?? "")])),
        }
      : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "a1b2c3d4e5",
      authorizer: {
        iam: {
          accessKey: "ASIAEXAMPLEEXAMPLE01",
          accountId: "123456789012",
          callerId: "AROAEXAMPLEEXAMPLE01:finance",
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: "arn:aws:sts::123456789012:assumed-role/FinanceReader/finance",
          userId: "AROAEXAMPLEEXAMPLE01:finance",
        },
      },
      domainName: u.host,
      domainPrefix: "a1b2c3d4e5",
      http: {
        method,
        path: u.pathname,
        protocol: "HTTP/1.1",
        sourceIp: "203.0.113.7",
        userAgent: "aws-cli/2.22.0",
      },
      requestId: "Xk3f2iYJjoEEMxQ=",
      routeKey,
      stage: "$default",
      time: "02/Aug/2026:09:00:00 +0000",
      timeEpoch: 1_785_661_200_000,
    },
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}

const LINES = "GET /periods/{period}/invoice-lines";
const USAGE = "GET /accounts/{accountId}/usage";
const context = { awsRequestId: "test", functionName: "finance-api" } as Context;

describe("finance API", () => {
  let system: LocalBillingSystem;
  let deps: FinanceApiDeps;
  const savedEnv = { ...process.env };
  /** The period's CSV, once closed. */
  let expectedCsv = "";

  beforeAll(async () => {
    system = await startLocalBillingSystem({
      clock: systemClock,
      // Received just after its 2025 events (G5 refuses events more than 400 days before receipt).
      receiptClock: fixedClock("2025-08-01T12:00:00Z"),
    });
    deps = { periods: system.store, usage: system.store.usage, config: () => system.store.loadConfig() };
    await system.loadConfig(
      await loadConfigFiles(join(example, "accounts.json"), join(example, "tariffs.json")),
    );
    // One message per line of the example's events file.
    await system.send(readFileSync(join(example, "events.jsonl"), "utf8").split("\n").filter(Boolean));
    await system.drain();
  });
  afterAll(async () => {
    process.env = savedEnv;
    await system?.stop();
  });

  it("GET /accounts/{id}/usage before the close: the month-to-date preview of `billing preview`; problems as problem+json", async () => {
    const api = createFinanceApiHandler(deps);
    const { accounts } = await deps.config();
    for (const { accountId } of accounts) {
      const r = await api(awsEvent(USAGE, `/accounts/${encodeURIComponent(accountId)}/usage?period=2025-07`));
      expect(r.statusCode, accountId).toBe(200);
      expect(r.headers?.["content-type"]).toBe("application/json");
      // The same rating and figures as `billing preview` (shared/app/preview-period.ts).
      expect(JSON.parse(String(r.body))).toEqual(
        JSON.parse(JSON.stringify(await previewPeriod(accountId, "2025-07", deps))),
      );
    }
    const co = JSON.parse(
      String((await api(awsEvent(USAGE, "/accounts/moments-co/usage?period=2025-07"))).body),
    ) as { lines: unknown[]; amount: string; events: number; newestEventAt: string | null };
    expect(co.lines.length).toBeGreaterThan(0);
    expect(co.events).toBeGreaterThan(0);
    if (co.newestEventAt !== null) expect(co.newestEventAt).toMatch(/^2025-0[78]-\d\dT/);

    // Not closed yet: no invoice lines for the period.
    const early = await api(awsEvent(LINES, "/periods/2025-07/invoice-lines?format=csv"));
    expect(early.statusCode).toBe(404);

    const problems = [
      ["/accounts/moments-co/usage", 400], // no period
      ["/accounts/moments-co/usage?period=2025-13", 400],
      ["/accounts/moments-co/usage?period=07-2025", 400],
      ["/accounts/%01bad/usage?period=2025-07", 400], // a control character
      ["/accounts/%E0%A4%A/usage?period=2025-07", 400], // broken percent-encoding
      ["/accounts/nobody/usage?period=2025-07", 404],
      ["/accounts/moments-co/usages?period=2025-07", 404],
    ] as const;
    for (const [url, status] of problems) {
      const r = await api(awsEvent(USAGE, url));
      expect(r.statusCode, url).toBe(status);
      expect(r.headers?.["content-type"], url).toBe("application/problem+json");
      expect(JSON.parse(String(r.body)), url).toMatchObject({
        type: "about:blank",
        status,
        instance: url.split("?")[0],
      });
    }
    const post = await api(
      awsEvent("POST /accounts/{accountId}/usage", "/accounts/moments-co/usage", "POST"),
    );
    expect(post.statusCode).toBe(405);
    expect(post.headers?.allow).toBe("GET");
  });

  it("after the close: the Lambda's CSV equals the scenario's lines, whole or in pages by bytes with Link rel=next; JSON pages by cursor", async () => {
    await system.close("2025-07");
    // Every stored line of the period (a test-only scan), as `billing export` writes them.
    expectedCsv = invoiceLinesToCsv(
      sortInvoiceLines((await allLines(system.store)).filter((l) => l.period === "2025-07")),
    );
    const rows = expectedCsv.trimEnd().split("\n");
    expect(rows).toHaveLength(expectedRows.length);
    rows.forEach((row, i) => {
      const want = (expectedRows[i] as string).split(",");
      row.split(",").forEach((cell, j) => {
        // Amounts compare as numbers (the scenario writes "200.00" for a unit price of "200").
        const num = (v: string) => (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v);
        if (want[j] !== "") expect(num(cell), `row ${i} column ${j}`).toBe(num(want[j] as string));
      });
    });
    // The deployed entry point itself, configured from its environment as Lambda runs it.
    process.env.BILLING_TABLE = system.tableName;
    process.env.DYNAMODB_ENDPOINT = system.endpoints.dynamodb;
    process.env.AWS_REGION = "us-east-1";
    const whole = await lambdaHandler(awsEvent(LINES, "/periods/2025-07/invoice-lines?format=csv"), context);
    expect(whole.statusCode).toBe(200);
    expect(whole.headers?.["content-type"]).toBe("text/csv; charset=utf-8");
    expect(whole.headers?.link).toBeUndefined();
    expect(whole.body).toBe(expectedCsv);

    // A byte budget smaller than the period: pages of whole rows, each with the header, linked.
    const api = createFinanceApiHandler(deps, { maxBodyBytes: 400 });
    const paged: string[] = [];
    let url: string | undefined = "/periods/2025-07/invoice-lines?format=csv";
    let pages = 0;
    while (url) {
      const r = await api(awsEvent(LINES, url));
      expect(r.statusCode, url).toBe(200);
      const [header, ...body] = String(r.body).trimEnd().split("\n");
      expect(header).toBe(expectedCsv.split("\n")[0]);
      expect(body.length).toBeGreaterThan(0);
      paged.push(...body);
      pages += 1;
      const link = /^<([^>]+)>; rel="next"$/.exec(String(r.headers?.link ?? ""));
      url = link?.[1];
      if (url) expect(Buffer.byteLength(String(r.body))).toBeLessThanOrEqual(400);
    }
    expect(pages).toBeGreaterThan(2);
    expect(`${[expectedCsv.split("\n")[0], ...paged].join("\n")}\n`).toBe(expectedCsv);

    // JSON, one line per page: every line once, in the CSV's order, across the four accounts.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const r = await api(
        awsEvent(
          LINES,
          `/periods/2025-07/invoice-lines?format=json&limit=1${cursor ? `&cursor=${cursor}` : ""}`,
        ),
      );
      expect(r.statusCode).toBe(200);
      const body = JSON.parse(String(r.body)) as { lines: { account_id: string }[]; nextCursor?: string };
      expect(body.lines).toHaveLength(1);
      seen.push(body.lines[0]?.account_id as string);
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(rows.slice(1).map((l) => l.split(",")[0]));

    for (const [u, status] of [
      ["/periods/2025-07/invoice-lines?format=csv&accountId=nobody", 404],
      ["/periods/2025-06/invoice-lines?format=csv", 404],
      ["/periods/2025-07/invoice-lines?format=csv&cursor=bm9wZQ", 400],
      ["/periods/2025-00/invoice-lines?format=csv", 400],
    ] as const) {
      const r = await api(awsEvent(LINES, u));
      expect(r.statusCode, u).toBe(status);
      expect(r.headers?.["content-type"]).toBe("application/problem+json");
    }
  });

  it("the local server streams the CSV account by account (chunked), the same bytes as the Lambda", async () => {
    const streaming = createStreamingFinanceApi(deps);
    const { httpApiEvent } = await import("../../local/finance-api-server.js");
    const r = await streaming(
      httpApiEvent({ method: "GET", url: "/periods/2025-07/invoice-lines?format=csv", headers: {} }),
    );
    expect(isStreamed(r)).toBe(true);
    const chunks: string[] = [];
    for await (const c of (r as StreamedResult).chunks) chunks.push(c);
    // The header, then one chunk per account with lines (4 accounts).
    expect(chunks).toHaveLength(1 + 4);
    expect(chunks.join("")).toBe(expectedCsv);

    const server = await startFinanceApiServer(streaming);
    try {
      const res = await new Promise<{ headers: Record<string, unknown>; body: string }>((done, fail) => {
        request(`${server.url}/periods/2025-07/invoice-lines?format=csv`, (m) => {
          let body = "";
          m.setEncoding("utf8");
          m.on("data", (d: string) => {
            body += d;
          });
          m.on("end", () => done({ headers: m.headers, body }));
          m.on("error", fail);
        })
          .on("error", fail)
          .end();
      });
      expect(res.headers["transfer-encoding"]).toBe("chunked");
      expect(res.headers["content-length"]).toBeUndefined();
      expect(res.body).toBe(expectedCsv);
      const missing = await fetch(`${server.url}/periods/2025-06/invoice-lines?format=csv`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get("content-type")).toBe("application/problem+json");
      const usage = await fetch(`${server.url}/accounts/moments-ist/usage?period=2025-07`);
      expect(usage.status).toBe(200);
      expect((await usage.json()) as { accountId: string }).toMatchObject({ accountId: "moments-ist" });
    } finally {
      await server.stop();
    }
  });
});

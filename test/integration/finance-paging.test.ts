/**
 * Paging a period's lines through the finance API costs reads in proportion to each page, not to
 * the period (issue 23 item 2): 1,000 closed accounts loaded into DynamoDB Local as a close leaves
 * them, walked page by page over the API handler, every DynamoDB request counted by an SDK
 * middleware. Each page's requests and index entries read stay under a bound linear in the
 * accounts it returns; before the walk read the period index per window of accounts, each page
 * read all 1,000 index entries (the bound fails without the per-shard resume).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoDbLocal, startDynamoDbLocal } from "../../local/dynamodb-local.js";
import { httpApiEvent } from "../../local/finance-api-server.js";
import { DynamoBillingStore, ensureBillingTable } from "../../shared/adapters/dynamodb/billing-table.js";
import { bulkLoadClosedAccounts } from "../../shared/adapters/dynamodb/closed-period-bulk-load.js";
import { periodIndexItem, periodShardsPrefix } from "../../shared/adapters/dynamodb/items/period-index.js";
import { createFinanceApi } from "../../shared/app/finance-api.js";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import { sortInvoiceLines } from "../../shared/core/rating/invoice.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";
import { closedAccountLoad } from "../support/closed-period.js";

const ACCOUNTS = 1000;
const PERIOD = "2025-07";
const TABLE = "finance-paging";

let dynamo: DynamoDbLocal;
let client: ReturnType<typeof dynamoClient>;
/** Requests since the last reset: command, and items returned (Item or Items). */
let requests: { command: string; items: number; index: boolean }[] = [];

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
  client = dynamoClient({ region: "us-east-1", dynamodbEndpoint: dynamo.endpoint });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const r = await next(args);
      // The document client's input, marshalled or not at this step.
      const input = args.input as { ExpressionAttributeValues?: Record<string, string | { S?: string }> };
      const pk = input.ExpressionAttributeValues?.[":pk"];
      const output = r.output as { Item?: unknown; Items?: unknown[] };
      requests.push({
        command: String(context.commandName),
        items: output.Items?.length ?? (output.Item ? 1 : 0),
        index: (typeof pk === "string" ? pk : pk?.S)?.startsWith(periodShardsPrefix(PERIOD)) ?? false,
      });
      return r;
    },
    { step: "initialize", name: "countRequests" },
  );
  await ensureBillingTable(client, TABLE);
}, 120_000);
afterAll(async () => {
  client?.destroy();
  await dynamo?.stop();
});

describe("finance API paging", () => {
  it("walks 1,000 accounts with reads linear in each page (requests and index entries per page bounded)", async () => {
    const loads = Array.from({ length: ACCOUNTS }, (_, i) => closedAccountLoad(i, PERIOD));
    await bulkLoadClosedAccounts(client, TABLE, loads);
    const store = new DynamoBillingStore(client, TABLE);
    // No configuration is loaded: a period's walk needs none (it would throw NoConfigurationError).
    const api = createFinanceApi({ periods: store, usage: store.usage, config: () => store.loadConfig() });

    const seen: InvoiceLine[] = [];
    const pages: { lines: number; accounts: number; requests: number; indexItems: number }[] = [];
    let cursor: string | undefined;
    do {
      requests = [];
      const url = `/periods/${PERIOD}/invoice-lines?format=json&limit=100${cursor ? `&cursor=${cursor}` : ""}`;
      const r = await api(httpApiEvent({ method: "GET", url, headers: {} }));
      expect(r.statusCode, String(r.body)).toBe(200);
      const body = JSON.parse(String(r.body)) as { lines: InvoiceLine[]; nextCursor?: string };
      seen.push(...body.lines);
      pages.push({
        lines: body.lines.length,
        accounts: new Set(body.lines.map((l) => l.account_id)).size,
        requests: requests.length,
        indexItems: requests.filter((q) => q.index).reduce((s, q) => s + q.items, 0),
      });
      cursor = body.nextCursor;
    } while (cursor);

    // Every line once, in the order of the whole period's sorted lines.
    expect(seen).toEqual(sortInvoiceLines(loads.flatMap((l) => [...l.lines])));
    expect(pages.length).toBeGreaterThan(20);
    expect(requests.some((q) => q.command === "ScanCommand")).toBe(false);
    for (const [i, p] of pages.entries()) {
      // Per page: 16 index Queries to start (one per shard) and at most one more per shard it
      // reads past, 8 accounts read ahead, and per account its close record and one Query per
      // reference period billed (at most 2 here).
      expect(p.requests, `page ${i}: ${JSON.stringify(p)}`).toBeLessThanOrEqual(48 + 3 * (p.accounts + 8));
      // Index entries: those of the page's accounts, the read-ahead, and what each shard's Queries
      // read beyond them (at most its first Query's 4 plus as many as it gave).
      expect(p.indexItems, `page ${i}: ${JSON.stringify(p)}`).toBeLessThanOrEqual(64 + 2 * (p.accounts + 8));
    }
    const total = pages.reduce((s, p) => s + p.requests, 0);
    expect(total).toBeLessThanOrEqual(3 * ACCOUNTS + 72 * pages.length);
  }, 300_000);

  it("pages a period's close reports: each account's once, in index order, reads per page bounded by the page", async () => {
    const period = "2025-08";
    const loads = Array.from({ length: 300 }, (_, i) => closedAccountLoad(i, period));
    await bulkLoadClosedAccounts(client, TABLE, loads);
    const store = new DynamoBillingStore(client, TABLE);
    const api = createFinanceApi({ periods: store, usage: store.usage, config: () => store.loadConfig() });
    const seen: string[] = [];
    const perPage: number[] = [];
    let cursor: string | undefined;
    do {
      requests = [];
      const url = `/periods/${period}/close-report?limit=50${cursor ? `&cursor=${cursor}` : ""}`;
      const r = await api(httpApiEvent({ method: "GET", url, headers: {} }));
      expect(r.statusCode, String(r.body)).toBe(200);
      const body = JSON.parse(String(r.body)) as { reports: { accountId: string }[]; nextCursor?: string };
      expect(body.reports.length).toBeLessThanOrEqual(50);
      seen.push(...body.reports.map((x) => x.accountId));
      perPage.push(requests.length);
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(loads.map((l) => l.accountId).sort());
    expect(perPage).toHaveLength(6);
    // Per page: the 16 index shards' Queries (and one more per shard read past), a close record per
    // account — not the period's 300 (the whole period in one response read them all, and its lines).
    for (const n of perPage) expect(n).toBeLessThanOrEqual(32 + 50 + 2);
    const bad = await api(
      httpApiEvent({ method: "GET", url: `/periods/${period}/close-report?limit=501`, headers: {} }),
    );
    expect(bad.statusCode).toBe(400);
  }, 120_000);

  it("resumes in DynamoDB's key order: ids past U+FFFF and over 1,000 bytes, every line once across pages of one line", async () => {
    const period = "2025-09";
    // Code-unit order puts "a😀" (a surrogate pair, 0xD83D…) before "a｡" (U+FF61); DynamoDB's byte
    // order puts it after (F0… > EF…). Resuming at a key after merging in the other order would
    // read a line again or skip one. Ids over 1,000 bytes are keyed by their hash.
    const ids = [
      ..."bcdefgh".split("").flatMap((c) => [`${c}\u{1F600}`, `${c}\uFF61`, `${c}\u00E9`, `${c}z`]),
      `${"x".repeat(1001)}-1`,
      `${"y".repeat(1100)}-2`,
    ];
    const shards = new Set(ids.map((id) => periodIndexItem.key({ accountId: id, period }).pk));
    expect(shards.size).toBeGreaterThan(8);
    const loads = ids.map((accountId, i) =>
      closedAccountLoad(i, period, { accountId, maxLines: 2, adjustEvery: 0 }),
    );
    await bulkLoadClosedAccounts(client, TABLE, loads);
    const store = new DynamoBillingStore(client, TABLE);
    const api = createFinanceApi({ periods: store, usage: store.usage, config: () => store.loadConfig() });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const url = `/periods/${period}/invoice-lines?format=json&limit=1${cursor ? `&cursor=${cursor}` : ""}`;
      const r = await api(httpApiEvent({ method: "GET", url, headers: {} }));
      expect(r.statusCode, String(r.body)).toBe(200);
      const body = JSON.parse(String(r.body)) as { lines: InvoiceLine[]; nextCursor?: string };
      seen.push(...body.lines.map((l) => l.line_id));
      cursor = body.nextCursor;
    } while (cursor);
    const all = loads.flatMap((l) => l.lines.map((x) => x.line_id));
    expect(seen.length).toBe(all.length);
    expect([...seen].sort()).toEqual([...all].sort());
  }, 120_000);
});

/**
 * Benchmark (never a test): paging through a whole closed period over the finance API handler
 * (issue 23 item 2). `npm run bench:finance`.
 *
 * BENCH_FINANCE_ACCOUNTS closed accounts (default 100,000; 1–8 SMS lines each by country and
 * network, every 10th with an adjustment of the previous period) are loaded straight into DynamoDB
 * Local's items as a close leaves them (`bulkLoadClosedAccounts`: close record, line chunks, period
 * index entry), then the period is paged through the Lambda-shaped handler (`createFinanceApi`,
 * JSON, `limit` BENCH_FINANCE_LIMIT lines, default 1,000) from the first page to the last cursor.
 * Read units are computed from item sizes as DynamoDB bills them (bench/dynamodb-units.ts).
 * stderr: the load and paging times, per-page figures; stdout's last line: one JSON object.
 */
import { startDynamoDbLocal } from "../local/dynamodb-local.js";
import { httpApiEvent } from "../local/finance-api-server.js";
import { DynamoBillingStore, ensureBillingTable } from "../shared/adapters/dynamodb/billing-table.js";
import { bulkLoadClosedAccounts } from "../shared/adapters/dynamodb/closed-period-bulk-load.js";
import { createFinanceApi } from "../shared/app/finance-api.js";
import { dynamoClient } from "../shared/runtime/wiring.js";
import { closedAccountLoad } from "../test/support/closed-period.js";
import { onEveryAnswer, readUnits } from "./dynamodb-units.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const ACCOUNTS = num("BENCH_FINANCE_ACCOUNTS", 100_000);
const LIMIT = num("BENCH_FINANCE_LIMIT", 1000);
const LOAD_CONCURRENCY = num("BENCH_LOAD_CONCURRENCY", 8);
const PERIOD = "2025-07";
const TABLE = "bench-finance";
const started = performance.now();
const log = (s: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${s}\n`);

const dynamo = await startDynamoDbLocal();
const client = dynamoClient({ region: "us-east-1", dynamodbEndpoint: dynamo.endpoint });
try {
  await ensureBillingTable(client, TABLE);
  for (let i = 0; i < ACCOUNTS; i += 5000) {
    const loads = Array.from({ length: Math.min(5000, ACCOUNTS - i) }, (_, j) =>
      closedAccountLoad(i + j, PERIOD),
    );
    await bulkLoadClosedAccounts(client, TABLE, loads, LOAD_CONCURRENCY);
    if ((i + 5000) % 20_000 === 0 || i + 5000 >= ACCOUNTS)
      log(`loaded ${Math.min(i + 5000, ACCOUNTS)} closed accounts`);
  }

  const meter = { rru: 0, requests: 0 };
  onEveryAnswer(client, "financeBenchMeter", (command, input, output) => {
    meter.requests += 1;
    meter.rru += readUnits(command, input, output) ?? 0;
  });
  const store = new DynamoBillingStore(client, TABLE);
  const api = createFinanceApi({ periods: store, usage: store.usage, config: () => store.loadConfig() });

  const pages: { ms: number; rru: number; requests: number; lines: number }[] = [];
  let cursor: string | undefined;
  let lines = 0;
  const pagingStarted = performance.now();
  do {
    const url = `/periods/${PERIOD}/invoice-lines?format=json&limit=${LIMIT}${cursor ? `&cursor=${cursor}` : ""}`;
    const before = { ...meter };
    const t = performance.now();
    const r = await api(httpApiEvent({ method: "GET", url, headers: {} }));
    const ms = performance.now() - t;
    if (r.statusCode !== 200) throw new Error(`page ${pages.length}: ${r.statusCode} ${String(r.body)}`);
    const body = JSON.parse(String(r.body)) as { lines: unknown[]; nextCursor?: string };
    lines += body.lines.length;
    pages.push({
      ms,
      rru: meter.rru - before.rru,
      requests: meter.requests - before.requests,
      lines: body.lines.length,
    });
    if (pages.length % 50 === 0) log(`${pages.length} pages, ${lines} lines`);
    cursor = body.nextCursor;
  } while (cursor);
  const totalSeconds = (performance.now() - pagingStarted) / 1000;

  const sortedMs = pages.map((p) => p.ms).sort((a, b) => a - b);
  const p99 = sortedMs[Math.min(sortedMs.length - 1, Math.ceil(sortedMs.length * 0.99) - 1)] ?? 0;
  const rruMax = Math.max(...pages.map((p) => p.rru));
  const rruTotal = pages.reduce((s, p) => s + p.rru, 0);
  log(
    `paging: ${pages.length} pages of ≤ ${LIMIT} lines in ${totalSeconds.toFixed(1)} s; ` +
      `page ms max ${Math.max(...sortedMs).toFixed(0)}, p50 ${(sortedMs[Math.floor(sortedMs.length / 2)] ?? 0).toFixed(0)}; ` +
      `RRU per page max ${rruMax}, mean ${(rruTotal / pages.length).toFixed(1)}, total ${rruTotal} ` +
      `(${(rruTotal / lines).toFixed(3)} per line); requests per page max ${Math.max(...pages.map((p) => p.requests))}`,
  );
  console.log(
    JSON.stringify({
      accounts: ACCOUNTS,
      lines,
      pages: pages.length,
      rru_per_page_max: rruMax,
      page_ms_p99: Math.round(p99),
      total_seconds: Number(totalSeconds.toFixed(1)),
    }),
  );
} finally {
  client.destroy();
  await dynamo.stop();
}

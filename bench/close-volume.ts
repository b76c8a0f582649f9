/**
 * Benchmark (never a test): the month-end close at volume on the embedded local stack (DynamoDB
 * Local, the fauxqs SQS server, the close queue drained by `BENCH_CLOSE_WORKERS` close-worker
 * pollers side by side, as concurrent Lambda instances). `npm run bench:close`.
 *
 * (a) BENCH_ACCOUNTS accounts (default 10,000) × BENCH_PRODUCTS products (default 30: SMS to 30
 *     countries, one counter and one invoice line each): wall time of the whole fan-out (scheduler +
 *     workers) and DynamoDB read units per account;
 * (b) one account over 6 months (BENCH_HISTORY_EVENTS stateful events a month, default 2,000): read
 *     units of month 6's close ÷ month 1's (`history_ratio`);
 * (c) one account with BENCH_BIG_EVENTS events in one period (default 1,000,000; half stateful),
 *     populated through the usage store directly: close time and peak RSS of this process.
 * Usage is stored through the real usage store (`ingest`, as the ingest handler does), not through
 * SQS. Read units are computed from item sizes as DynamoDB bills them (1 RRU per started 4 KB read
 * strongly consistent, ×0.5 eventually consistent). The last line is one JSON object.
 */
import { createHash } from "node:crypto";
import { startLocalBillingSystem } from "../local/billing-system.js";
import { mapLimit } from "../shared/adapters/dynamodb/usage-store.js";
import { isCloseReport } from "../shared/app/close-period.js";
import { parseUsageMessage } from "../shared/contract/usage-event.js";
import { type BillingConfig, configIndex, parseAccounts, parseTariffs } from "../shared/core/config.js";
import { contributionOf } from "../shared/core/rating/counters.js";
import { DAY } from "../shared/core/time.js";
import { VirtualClock } from "../shared/ports/clock.js";
import type { PreparedEvent } from "../shared/ports/usage-store.js";
import { readUnits } from "./dynamodb-units.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const ACCOUNTS = num("BENCH_ACCOUNTS", 10_000);
const PRODUCTS = Math.min(num("BENCH_PRODUCTS", 30), 30);
const HISTORY_EVENTS = num("BENCH_HISTORY_EVENTS", 2_000);
const BIG_EVENTS = num("BENCH_BIG_EVENTS", 1_000_000);
const WORKERS = num("BENCH_CLOSE_WORKERS", 4);
const log = (s: string) => process.stderr.write(`${s}\n`);

const COUNTRIES =
  "TR DE FR GB US IT ES NL BE AT CH SE NO DK FI PL CZ HU RO BG GR PT IE BR MX IN ID NG ZA EG".split(" ");
const tariffs = parseTariffs([
  {
    tariffId: "std",
    currency: "EUR",
    versions: [
      {
        publishedAt: "2024-12-01T00:00:00Z",
        effectiveFrom: "2024-12-01T00:00:00Z",
        rates: [
          ...COUNTRIES.map((country, i) => ({
            product: "sms.mt",
            match: { country },
            unitPrice: (0.01 + i / 1000).toFixed(3),
          })),
          { product: "messenger.active_user", unitPrice: "0.10" },
        ],
      },
    ],
  },
]);
const id = (i: number) => `a${String(i).padStart(6, "0")}`;
// The history and big accounts live in UTC−12: not yet due when (a) fans out UTC's July.
const accounts = parseAccounts(
  [
    ...Array.from({ length: ACCOUNTS }, (_, i) => ({
      accountId: id(i),
      name: id(i),
      currency: "EUR",
      tariffId: "std",
    })),
    { accountId: "hist", name: "hist", currency: "EUR", tariffId: "std", timezone: "Etc/GMT+12" },
    { accountId: "big", name: "big", currency: "EUR", tariffId: "std", timezone: "Etc/GMT+12" },
  ],
  tariffs,
);
const config: BillingConfig = { accounts, tariffs };
const index = configIndex(config);

const clock = new VirtualClock(Date.parse("2025-01-01T00:00:00Z"));
const system = await startLocalBillingSystem({ clock, closeWorkers: WORKERS });

// ---- read units (SDK middleware on the one DynamoDB client) ----
const meter = { rru: 0, reads: 0, writes: 0 };
system.dynamodb.middlewareStack.add(
  (next, context) => async (args) => {
    const out = await next(args);
    const units = readUnits(context.commandName, args.input, out.output);
    if (units === undefined) meter.writes += 1;
    else {
      meter.reads += 1;
      meter.rru += units;
    }
    return out;
  },
  { step: "initialize", name: "closeBenchMeter" },
);

// ---- populating usage through the usage store, as the ingest handler stores it ----
let seq = 0;
function prepare(subject: string, type: string, time: string, data: Record<string, unknown>): PreparedEvent {
  const body = JSON.stringify({
    specversion: "1.0",
    id: `e${++seq}`,
    source: "/bench",
    type,
    subject,
    time,
    data,
  });
  const event = parseUsageMessage(body);
  const t = Date.parse(event.time);
  const account = index.account(subject);
  if (!account) throw new Error(`no account ${subject}`);
  const ledgerEvent = { ...event, t };
  return {
    event: ledgerEvent,
    hash: createHash("sha256").update(body).digest("hex"),
    accountId: subject,
    contribution: contributionOf(account, index.tariffOf(account), ledgerEvent),
    body,
  };
}
async function store(events: Iterable<PreparedEvent>, chunk = 1000) {
  const chunks: PreparedEvent[][] = [];
  let cur: PreparedEvent[] = [];
  for (const e of events) {
    cur.push(e);
    if (cur.length === chunk) {
      chunks.push(cur);
      cur = [];
    }
  }
  if (cur.length) chunks.push(cur);
  let done = 0;
  await mapLimit(chunks, 2, async (c) => {
    const r = await system.store.usage.ingest(c, clock.now());
    const retry = r.filter((o) => o.kind === "retry").length;
    if (retry) throw new Error(`${retry} events not stored`);
    done += c.length;
    if (done % 50_000 < chunk) log(`  stored ${done}`);
  });
}
const sms = (subject: string, country: string, time: string) =>
  prepare(subject, "sms.mt", time, { to: `${seq}`, country, status: "submitted" });
const messenger = (subject: string, user: number, time: string) =>
  prepare(subject, "messenger.message", time, { endUserId: `u${user}`, delivered: true });
const timeIn = (period: string, i: number) =>
  new Date(Date.parse(`${period}-02T12:00:00Z`) + (i % (25 * 24 * 3600)) * 1000).toISOString();

await system.loadConfig(config);

// ---- (b) one account, 6 months ----
const history: { period: string; rru: number; seconds: number }[] = [];
for (const [m, period] of ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"].entries()) {
  clock.advanceTo(Date.parse(`${period}-01T13:00:00Z`));
  await store(
    (function* () {
      for (let i = 0; i < HISTORY_EVENTS; i++) yield messenger("hist", i % 500, timeIn(period, i * 300 + m));
      for (let i = 0; i < PRODUCTS; i++) yield sms("hist", COUNTRIES[i] ?? "TR", timeIn(period, i));
    })(),
  );
  clock.advanceTo(Date.parse(`${period}-28T00:00:00Z`) + 5 * DAY);
  const before = meter.rru;
  const t0 = performance.now();
  const [r] = await system.close(period, ["hist"]);
  history.push({ period, rru: meter.rru - before, seconds: (performance.now() - t0) / 1000 });
  log(
    `(b) ${period}: ${r?.lines} lines, ${meter.rru - before} RRU, ${((performance.now() - t0) / 1000).toFixed(2)} s`,
  );
}
const historyRatio = (history.at(-1)?.rru ?? 0) / (history[0]?.rru ?? 1);

// ---- (a) many accounts ----
log(`(a) storing ${ACCOUNTS} accounts × ${PRODUCTS} products`);
clock.advanceTo(Date.parse("2025-07-31T12:00:00Z"));
await store(
  (function* () {
    for (let a = 0; a < ACCOUNTS; a++)
      for (let p = 0; p < PRODUCTS; p++) yield sms(id(a), COUNTRIES[p] ?? "TR", timeIn("2025-07", a * 7 + p));
  })(),
);
clock.advanceTo(Date.parse("2025-08-01T02:00:00Z")); // UTC's July due (grace 2 h); UTC−12's not yet
const beforeA = { ...meter };
const tA = performance.now();
const fanned = await system.scheduleCloses(2);
const outcomes = await system.drainCloses();
const accountsSeconds = (performance.now() - tA) / 1000;
const julyClosed = outcomes.filter(
  (o) => o.period === "2025-07" && isCloseReport(o) && o.status === "closed",
);
if (julyClosed.length !== ACCOUNTS) throw new Error(`closed ${julyClosed.length} of ${ACCOUNTS} accounts`);
const closedA = outcomes.length;
const rruPerAccount = (meter.rru - beforeA.rru) / closedA;
log(
  `(a) fan-out ${JSON.stringify(fanned)}: ${closedA} closes in ${accountsSeconds.toFixed(1)} s, ` +
    `${rruPerAccount.toFixed(2)} RRU, ${((meter.reads - beforeA.reads) / closedA).toFixed(1)} reads and ` +
    `${((meter.writes - beforeA.writes) / closedA).toFixed(1)} write requests per close`,
);

// ---- (c) one big account ----
log(`(c) storing ${BIG_EVENTS} events of one account in 2025-09`);
clock.advanceTo(Date.parse("2025-09-30T00:00:00Z"));
await store(
  (function* () {
    for (let i = 0; i < BIG_EVENTS; i++)
      yield i % 2 === 0
        ? sms("big", COUNTRIES[i % PRODUCTS] ?? "TR", timeIn("2025-09", i))
        : messenger("big", i % 100_000, timeIn("2025-09", i));
  })(),
);
clock.advanceTo(Date.parse("2025-10-02T00:00:00Z"));
global.gc?.();
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
const tC = performance.now();
const [big] = await system.close("2025-09", ["big"]);
const bigSeconds = (performance.now() - tC) / 1000;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
log(
  `(c) ${big?.events} events, ${big?.lines} lines in ${bigSeconds.toFixed(1)} s, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
);

await system.stop();
const round = (x: number, d = 2) => Number(x.toFixed(d));
console.log(
  JSON.stringify({
    accounts: ACCOUNTS,
    accounts_seconds: round(accountsSeconds, 1),
    rru_per_account: round(rruPerAccount),
    history_ratio: round(historyRatio),
    big_account_events: big?.events ?? 0,
    big_account_seconds: round(bigSeconds, 1),
    big_account_peak_rss_mb: round(peakRss / 2 ** 20, 0),
  }),
);

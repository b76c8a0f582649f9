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
 *     populated through the usage store directly: close time and peak RSS, measured in a process of
 *     its own (this script again, BENCH_PART=big), not on top of what (a) left in this one.
 * (b)'s usage is stored through the real usage store (`ingest`, as the ingest handler does); (a)'s
 * and (c)'s are loaded straight into the store's items in batches (`bulkLoadUsage`: the same
 * counters, pages and usage markers, without identity claims), so that a full-size run is practical.
 * Read units are computed from item sizes as DynamoDB bills them (1 RRU per started 4 KB read
 * strongly consistent, ×0.5 eventually consistent). Phase times go to stderr; the last line on
 * stdout is one JSON object.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { startLocalBillingSystem } from "../local/billing-system.js";
import { bulkLoadUsage, type UsageLoad } from "../shared/adapters/dynamodb/usage-bulk-load.js";
import { USAGE_SHARDS } from "../shared/adapters/dynamodb/usage-store.js";
import { isCloseReport } from "../shared/core/close-report.js";
import { type BillingConfig, configIndex, parseAccounts } from "../shared/core/config.js";
import { mapLimit } from "../shared/core/map-limit.js";
import { parseUsageMessage } from "../shared/core/products/index.js";
import { type CounterDelta, contributionOf, mergeDeltas } from "../shared/core/rating/counters.js";
import type { LedgerEvent } from "../shared/core/rating/types.js";
import { DAY } from "../shared/core/time.js";
import { VirtualClock } from "../shared/ports/clock.js";
import type { PreparedEvent } from "../shared/ports/usage-store.js";
import { stdTariffs } from "../test/support/events.js";
import { readUnits } from "./dynamodb-units.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const ACCOUNTS = num("BENCH_ACCOUNTS", 10_000);
const PRODUCTS = Math.min(num("BENCH_PRODUCTS", 30), 30);
const HISTORY_EVENTS = num("BENCH_HISTORY_EVENTS", 2_000);
const BIG_EVENTS = num("BENCH_BIG_EVENTS", 1_000_000);
/** (d): events of each of the two accounts of one close batch (0 skips the phase). */
const PAIR_EVENTS = num("BENCH_PAIR_EVENTS", BIG_EVENTS);
const WORKERS = num("BENCH_CLOSE_WORKERS", 4);
/** Requests in flight while loading usage. */
const LOAD_CONCURRENCY = num("BENCH_LOAD_CONCURRENCY", 8);
const started = performance.now();
const log = (s: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${s}\n`);

const COUNTRIES =
  "TR DE FR GB US IT ES NL BE AT CH SE NO DK FI PL CZ HU RO BG GR PT IE BR MX IN ID NG ZA EG".split(" ");
const tariffs = stdTariffs(
  [
    ...COUNTRIES.map((country, i) => ({
      product: "sms.mt",
      match: { country },
      unitPrice: (0.01 + i / 1000).toFixed(3),
    })),
    { product: "messenger.active_user", unitPrice: "0.10" },
  ],
  { effectiveFrom: "2024-12-01T00:00:00Z" },
);
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
    { accountId: "big2", name: "big2", currency: "EUR", tariffId: "std", timezone: "Etc/GMT+12" },
  ],
  tariffs,
);
const config: BillingConfig = { accounts, tariffs };
const index = configIndex(config);

const clock = new VirtualClock(Date.parse("2025-01-01T00:00:00Z"));
const system = await startLocalBillingSystem({ clock, closeWorkers: WORKERS });

/** CPU seconds of this process and of DynamoDB Local's JVM (from /proc): which side a phase loads. */
function cpuSeconds() {
  const own = process.cpuUsage();
  let jvm = Number.NaN;
  try {
    const fields = readFileSync(`/proc/${system.dynamodbPid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    jvm = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ 100)
  } catch {
    // not Linux: the JVM's share is not reported
  }
  return { node: (own.user + own.system) / 1e6, jvm };
}
const cpuSince = (from: ReturnType<typeof cpuSeconds>) => {
  const now = cpuSeconds();
  return `CPU: node ${(now.node - from.node).toFixed(1)} s, DynamoDB Local ${(now.jvm - from.jvm).toFixed(1)} s`;
};

// ---- read units (SDK middleware on the one DynamoDB client) ----
const meter = { rru: 0, reads: 0, writes: 0, byCommand: new Map<string, number>() };
/** Requests per command name since `since` (a copy of meter.byCommand), per close. */
const perCommand = (since: Map<string, number>, closes: number) =>
  [...meter.byCommand]
    .map(([c, n]) => [c.replace(/Command$/, ""), (n - (since.get(c) ?? 0)) / closes] as const)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${n.toFixed(2)}`)
    .join(", ");
system.dynamodb.middlewareStack.add(
  (next, context) => async (args) => {
    const out = await next(args);
    const command = context.commandName ?? "?";
    meter.byCommand.set(command, (meter.byCommand.get(command) ?? 0) + 1);
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

// The (c) child needs only its own account in the table (10,000 accounts take a while to save).
await system.loadConfig(
  process.env.BENCH_PART === "big" || process.env.BENCH_PART === "pair"
    ? { ...config, accounts: accounts.filter((a) => a.accountId.startsWith("big")) }
    : config,
);

// ---- (b) one account, 6 months ----
async function historyRatio(): Promise<number> {
  const history: { period: string; rru: number; seconds: number }[] = [];
  for (const [m, period] of ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"].entries()) {
    clock.advanceTo(Date.parse(`${period}-01T13:00:00Z`));
    await store(
      (function* () {
        for (let i = 0; i < HISTORY_EVENTS; i++)
          yield messenger("hist", i % 500, timeIn(period, i * 300 + m));
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
  return (history.at(-1)?.rru ?? 0) / (history[0]?.rru ?? 1);
}

// ---- (a) many accounts ----
async function manyAccounts(): Promise<{ seconds: number; rruPerAccount: number }> {
  log(`(a) loading ${ACCOUNTS} accounts × ${PRODUCTS} products`);
  clock.advanceTo(Date.parse("2025-07-31T12:00:00Z"));
  const tLoadA = performance.now();
  for (let from = 0; from < ACCOUNTS; from += 500) {
    const loads: UsageLoad[] = [];
    for (let a = from; a < Math.min(ACCOUNTS, from + 500); a++) {
      const deltas: CounterDelta[] = [];
      for (let p = 0; p < PRODUCTS; p++) {
        const c = sms(id(a), COUNTRIES[p] ?? "TR", timeIn("2025-07", a * 7 + p)).contribution;
        if (c.counted) deltas.push(...c.deltas);
      }
      // One ingest attempt's shard, as a small account's month lands when its events come in one batch.
      loads.push({
        accountId: id(a),
        period: "2025-07",
        counters: { deltas, events: PRODUCTS },
        counterShard: a % USAGE_SHARDS,
      });
    }
    await bulkLoadUsage(system.dynamodb, system.tableName, loads, LOAD_CONCURRENCY);
    if ((from / 500) % 4 === 3) log(`  loaded ${from + 500} accounts`);
  }
  log(`(a) loaded in ${((performance.now() - tLoadA) / 1000).toFixed(1)} s`);
  clock.advanceTo(Date.parse("2025-08-01T02:00:00Z")); // UTC's July due (grace 2 h); UTC−12's not yet
  const beforeA = { ...meter, byCommand: new Map(meter.byCommand) };
  const cpuA = cpuSeconds();
  const tA = performance.now();
  const fanned = await system.scheduleCloses(2);
  const outcomes = await system.drainCloses();
  const accountsSeconds = (performance.now() - tA) / 1000;
  // A close slower than the queue's visibility timeout (30 s) on a saturated machine is delivered
  // again: that delivery finds it closed ("already-closed", the outcome kept for the account).
  const julyClosed = outcomes.filter((o) => o.period === "2025-07" && isCloseReport(o));
  if (julyClosed.length !== ACCOUNTS) throw new Error(`closed ${julyClosed.length} of ${ACCOUNTS} accounts`);
  const closedA = outcomes.length;
  const rruPerAccount = (meter.rru - beforeA.rru) / closedA;
  log(
    `(a) fan-out ${JSON.stringify(fanned)}: ${closedA} closes in ${accountsSeconds.toFixed(1)} s, ` +
      `${rruPerAccount.toFixed(2)} RRU, ${((meter.reads - beforeA.reads) / closedA).toFixed(1)} reads and ` +
      `${((meter.writes - beforeA.writes) / closedA).toFixed(1)} write requests per close`,
  );
  log(`(a) requests per close: ${perCommand(beforeA.byCommand, closedA)}; ${cpuSince(cpuA)}`);
  return { seconds: accountsSeconds, rruPerAccount };
}

// ---- (c) one big account (BENCH_PART=big: in a process of its own, so that its peak RSS is its own) ----
/** Loads `events` events of `accountId` in 2025-09 (half stateful, half counted over 30 products). */
async function loadBig(accountId: string, events: number): Promise<void> {
  // Counted events summed as they come (30 counters); stateful ones loaded 50,000 at a time over every shard.
  const deltas: CounterDelta[] = [];
  let counted = 0;
  let pending: LedgerEvent[] = [];
  const allShards = Array.from({ length: USAGE_SHARDS }, (_, i) => i);
  for (let i = 0; i < events; i++) {
    const p =
      i % 2 === 0
        ? sms(accountId, COUNTRIES[i % PRODUCTS] ?? "TR", timeIn("2025-09", i))
        : messenger(accountId, i % 100_000, timeIn("2025-09", i));
    if (p.contribution.counted) {
      deltas.push(...p.contribution.deltas);
      counted += 1;
      if (deltas.length >= 10_000) deltas.splice(0, deltas.length, ...mergeDeltas(deltas));
    } else pending.push(p.event);
    if (pending.length === 50_000 || i === events - 1) {
      await bulkLoadUsage(
        system.dynamodb,
        system.tableName,
        [{ accountId, period: "2025-09", events: pending, pageShards: allShards }],
        LOAD_CONCURRENCY,
      );
      pending = [];
      if ((i + 1) % 200_000 < 2) log(`  ${accountId}: loaded ${i + 1}`);
    }
  }
  await bulkLoadUsage(system.dynamodb, system.tableName, [
    { accountId, period: "2025-09", counters: { deltas, events: counted }, counterShard: 0 },
  ]);
}

interface BigFigures {
  events: number;
  seconds: number;
  peakRssMb: number;
  rssBeforeMb: number;
  /** (d): most closes holding raw events at once in the worker's memory budget. */
  heldAtOnce?: number;
}

/** Closes `accountIds`' 2025-09 in one close-worker batch, sampling this process's RSS. */
async function closeMeasured(phase: string, accountIds: string[]): Promise<BigFigures> {
  clock.advanceTo(Date.parse("2025-10-02T00:00:00Z"));
  global.gc?.(); // the child runs with --expose-gc: what loading left behind is not the close's
  const rssBefore = process.memoryUsage().rss;
  log(`${phase} RSS before the close ${(rssBefore / 2 ** 20).toFixed(0)} MiB`);
  let peakRss = rssBefore;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  const reports = await system.close("2025-09", accountIds);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const events = reports.reduce((n, r) => n + r.events, 0);
  const budget = system.closeBudgets[0]?.snapshot();
  log(
    `${phase} ${reports.length} account(s), ${events} events, ${reports.map((r) => r.lines).join("+")} lines in ` +
      `${seconds.toFixed(1)} s, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB; budget ${JSON.stringify(budget)}; ${cpuSince(cpu0)}`,
  );
  return {
    events,
    seconds,
    peakRssMb: peakRss / 2 ** 20,
    rssBeforeMb: rssBefore / 2 ** 20,
    ...(budget ? { heldAtOnce: budget.peakHoldingRaw } : {}),
  };
}

async function bigAccount(): Promise<BigFigures> {
  log(`(c) loading ${BIG_EVENTS} events of one account in 2025-09`);
  clock.advanceTo(Date.parse("2025-09-30T00:00:00Z"));
  const tLoadC = performance.now();
  await loadBig("big", BIG_EVENTS);
  log(`(c) loaded in ${((performance.now() - tLoadC) / 1000).toFixed(1)} s`);
  return closeMeasured("(c)", ["big"]);
}

/** (d) two such accounts closed by one close-worker batch (BENCH_PART=pair, a process of its own). */
async function bigPair(): Promise<BigFigures> {
  log(`(d) loading ${PAIR_EVENTS} events of each of two accounts in 2025-09`);
  clock.advanceTo(Date.parse("2025-09-30T00:00:00Z"));
  const t0 = performance.now();
  await loadBig("big", PAIR_EVENTS);
  await loadBig("big2", PAIR_EVENTS);
  log(`(d) loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return closeMeasured("(d)", ["big", "big2"]);
}

/** (c) or (d) in a child process running this script with BENCH_PART=big|pair; its last stdout line is its JSON. */
function inChild(part: "big" | "pair"): Promise<BigFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, "--expose-gc", process.argv[1] ?? ""], {
      env: { ...process.env, BENCH_PART: part },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const last = out.trim().split("\n").at(-1) ?? "";
      if (code === 0 && last.startsWith("{")) resolve(JSON.parse(last));
      else reject(new Error(`${part} child exited with ${code}: ${last}`));
    });
  });
}

const round = (x: number, d = 2) => Number(x.toFixed(d));
if (process.env.BENCH_PART === "big" || process.env.BENCH_PART === "pair") {
  const figures = process.env.BENCH_PART === "big" ? await bigAccount() : await bigPair();
  await system.stop();
  console.log(JSON.stringify(figures));
} else {
  const ratio = await historyRatio();
  const many = await manyAccounts();
  await system.stop();
  const big = await inChild("big");
  const pair = PAIR_EVENTS > 0 ? await inChild("pair") : undefined;
  console.log(
    JSON.stringify({
      accounts: ACCOUNTS,
      accounts_seconds: round(many.seconds, 1),
      rru_per_account: round(many.rruPerAccount),
      history_ratio: round(ratio),
      big_account_events: big.events,
      big_account_seconds: round(big.seconds, 1),
      big_account_peak_rss_mb: round(big.peakRssMb, 0),
      ...(pair
        ? {
            big_pair_events: pair.events,
            big_pair_seconds: round(pair.seconds, 1),
            big_pair_peak_rss_mb: round(pair.peakRssMb, 0),
            big_pair_held_at_once: pair.heldAtOnce,
          }
        : {}),
    }),
  );
}

/**
 * Benchmark (never a test): ingest at CPaaS volume on the embedded local stack (DynamoDB Local, the
 * fauxqs SQS server, the event-source poller, the real ingest handler). `npm run bench:ingest`
 * [-- --single 100000 --batched 100000 --naive 20000 --sqs 30000 --warmup 5000 --concurrency 4].
 *
 * Phases, each through SQS → poller → handler, the queue filled first, `concurrency` pollers at once
 * (Lambda's concurrent invocations), 1,000 messages per invocation (the deployed batch size):
 * - warm-up (single-event bodies);
 * - SQS ceiling: a handler that does nothing (receive + delete only);
 * - naive baseline: per event one conditional put (identity) and one ADD update (counter);
 * - this design, single-event bodies (the figures of the last line), then CloudEvents batch bodies;
 * - then, unless `--realistic 0`, a realistic customer base (issue 23): `--realistic-accounts`
 *   accounts (10,000) with Zipf-distributed traffic (`--zipf`, s = 1.1), every rule family, `sms.*`
 *   and the other per-message channels priced by 50 countries × 4 networks, at 1,000 messages per
 *   invocation, from the month's start (`--realistic` events, default one cadence window: the
 *   month's first run of the fold, every account's first marks in it); and a low-traffic phase (`--low-traffic` events) whose
 *   invocations hold 50 to 100 messages (quiet hours: the batching window closes before filling).
 *   Their figures are the `realistic_*` and `low_traffic_*` keys of the last line. Unless
 *   `--steady 0`, a steady-state phase follows: every account's month begun (one unmetered event
 *   each), then one cadence window of traffic (`--steady`, default 300,000 events: five minutes at
 *   1,000 events/s): the `steady_*` keys.
 * The fold is ticked as deployed: every minute of the stated rate's traffic (`--minute-events`
 * 60,000 = 1,000 events/s for the customer base; `--low-minute-events` 3,600 = 60 events/s in quiet
 * hours) the virtual clock moves a minute on and the scheduled fold runs with its cadence (a shard
 * folded when its last run is `--fold-lag` minutes old, or by volume); each phase ends with a fold
 * of everything (a last, partial run, counted in full).
 * DynamoDB requests and units are counted by an SDK middleware, units computed from item sizes as
 * DynamoDB bills them (1 WRU per started KB written, ×2 in a transaction, failed conditional writes
 * included; 1 RRU per started 4 KB read strongly consistent, ×0.5 eventually consistent). The last
 * line is one JSON object (single-event bodies).
 */

import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { createIngestHandler, wrapIngestHandler } from "../functions/ingest-usage/handler.js";
import { RUNS_PER_TICK } from "../functions/usage-fold/handler.js";
import { startLocalBillingSystem } from "../local/billing-system.js";
import { SqsEventSourcePoller } from "../local/event-source-poller.js";
import { USAGE_SHARDS } from "../shared/adapters/dynamodb/usage-store.js";
import { type FoldDeps, foldAll } from "../shared/app/fold-usage.js";
import { MINUTE } from "../shared/core/time.js";
import { DEFAULT_FOLD_CADENCE, type FoldCadence } from "../shared/core/usage-fold.js";
import { VirtualClock } from "../shared/ports/clock.js";
import { cachedConfig, storeDeps } from "../shared/runtime/wiring.js";
import { benchOptions } from "./bench-options.js";
import { Meter, onEveryAnswer } from "./dynamodb-units.js";
import { costPerMillion, type PhaseResult, PRICES, sumPhases } from "./ingest-cost.js";
import {
  accounts,
  COUNTRIES_50,
  DOMINANT,
  type Mix,
  makeEvents,
  NETWORKS,
  realisticAccountId,
  realisticAccounts,
  realisticTariffs,
  tariffs,
  zipfPicker,
} from "./ingest-mix.js";
import { INGEST_POLLER_ARGS } from "./ingest-pollers.js";
import { naiveIngest } from "./naive-ingest.js";

const values = benchOptions({
  single: 100_000,
  batched: 100_000,
  naive: 20_000,
  sqs: 30_000,
  warmup: 5000,
  ...INGEST_POLLER_ARGS,
  "body-events": 50,
  /** Messages per invocation for batch bodies: about as many events per invocation as single bodies. */
  "body-batch-size": 20,
  /** Events from the month's start (0: none; −1, the default: one cadence window, the fold's first run). */
  realistic: -1,
  "realistic-accounts": 10_000,
  zipf: 1.1,
  "low-traffic": 30_000,
  /** Events of the steady-state phase (0: none; −1, the default: one cadence window at the stated rate). */
  steady: -1,
  /**
   * The fold's tick: the schedule ticks every minute; the bench ticks after the events one minute
   * carries at a stated rate (1,000 events/s for the customer base; 60 events/s in quiet hours).
   */
  "minute-events": 60_000,
  "low-minute-events": 3600,
  /** The cadence's lag in minutes (the deployed default: 5). */
  "fold-lag": 5,
});
const MINUTE_EVENTS = values["minute-events"];
const LOW_MINUTE_EVENTS = values["low-minute-events"];
const CADENCE: FoldCadence = { ...DEFAULT_FOLD_CADENCE, maxLagMs: values["fold-lag"] * MINUTE };
/** One cadence window of the customer base's traffic (300,000). */
const STEADY_WINDOW = (CADENCE.maxLagMs / MINUTE) * MINUTE_EVENTS;
const STEADY_EVENTS = values.steady >= 0 ? values.steady : STEADY_WINDOW;
const REALISTIC = {
  events: values.realistic >= 0 ? values.realistic : STEADY_WINDOW,
  accounts: values["realistic-accounts"],
  zipf: values.zipf,
  lowTraffic: values["low-traffic"],
};
const N = {
  single: values.single,
  batched: values.batched,
  naive: values.naive,
  sqs: values.sqs,
  warmup: values.warmup,
};
const CONCURRENCY = values.concurrency;
const BATCH_SIZE = values["batch-size"];
const BODY_EVENTS = values["body-events"];
const BODY_BATCH_SIZE = values["body-batch-size"];

// ---- run ----
const clock = new VirtualClock(Date.parse("2025-07-31T12:00:00Z"));
// As deployed: ingest writes journals and commits; the fold (below) applies them at its cadence.
const system = await startLocalBillingSystem({ clock, configCacheMs: 60_000, foldInline: false });
let meter: Meter | undefined;
let sqsRequests = 0;
onEveryAnswer(system.dynamodb, "benchMeter", (command, input, output) =>
  meter?.record(command, input, output),
);
system.sqs.middlewareStack.add(
  (next, context) => async (args) => {
    if (context.commandName !== "GetQueueAttributesCommand") sqsRequests += 1;
    return next(args);
  },
  { step: "initialize", name: "benchSqsCounter" },
);

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;
const config = cachedConfig(system.store, clock, 60_000);
const deps = storeDeps(system.store, clock, config, { configCacheMs: 60_000 });
const foldDeps: FoldDeps = {
  journal: system.store.usage.journal,
  periods: system.store,
  clock,
  accounts: deps.accounts,
  unclosed: system.store.unclosed,
};
/**
 * Events handled since the last tick, the events a minute carries in the running phase, the fold's
 * invocations (ticks), the shard runs they applied, and its time.
 */
let sinceTick = 0;
let tickEvery = Number.POSITIVE_INFINITY;
let foldChain: Promise<void> = Promise.resolve();
let foldTicks = 0;
let shardRuns = 0;
let foldMs = 0;
/** One scheduled tick: a minute has passed (the virtual clock moves on), the shards due folded. */
const tick = async () => {
  clock.advanceTo(clock.now() + MINUTE);
  const t = performance.now();
  const results = await foldAll(foldDeps, 4, { cadence: CADENCE, maxRuns: RUNS_PER_TICK });
  foldMs += performance.now() - t;
  foldTicks += 1;
  shardRuns += results.reduce((n, r) => n + r.runs, 0);
};
/** The phase's end: a minute on, every shard folded whatever its cadence (a partial run, in full). */
const foldEverything = async () => {
  clock.advanceTo(clock.now() + MINUTE);
  const t = performance.now();
  const results = await foldAll(foldDeps);
  foldMs += performance.now() - t;
  foldTicks += 1;
  shardRuns += results.reduce((n, r) => n + r.runs, 0);
};
let handlerMs = 0;
let invocations = 0;
/** CPU time of this process during handler calls (its own with `--concurrency 1`: the Lambda memory choice). */
let handlerCpuMs = 0;
let peakHeapMb = 0;
const timed =
  (h: Handler): Handler =>
  async (event, context) => {
    const t = performance.now();
    const cpu = process.cpuUsage();
    try {
      return await h(event, context);
    } finally {
      sinceTick += event.Records.length;
      if (sinceTick >= tickEvery) {
        sinceTick = 0;
        foldChain = foldChain.then(tick);
      }
      handlerMs += performance.now() - t;
      const used = process.cpuUsage(cpu);
      handlerCpuMs += (used.user + used.system) / 1000;
      peakHeapMb = Math.max(peakHeapMb, process.memoryUsage().heapUsed / 2 ** 20);
      invocations += 1;
    }
  };
const ingest = timed(wrapIngestHandler(createIngestHandler(deps)) as unknown as Handler);
const noop = timed(async () => ({ batchItemFailures: [] }));
const naive = timed(naiveIngest(system.dynamodb, system.tableName));

async function phase(
  name: string,
  bodies: readonly string[],
  events: number,
  handler: Handler,
  batchSize = BATCH_SIZE,
  minuteEvents = MINUTE_EVENTS,
  /** Sub-phases of one stretch of traffic: the fold's minute goes on across them (no reset, one last fold). */
  stretch: { continued: boolean; last: boolean } = { continued: false, last: true },
): Promise<PhaseResult> {
  await system.send(bodies);
  meter = new Meter();
  sqsRequests = 0;
  handlerMs = 0;
  handlerCpuMs = 0;
  invocations = 0;
  foldTicks = 0;
  shardRuns = 0;
  foldMs = 0;
  if (!stretch.continued) sinceTick = 0;
  tickEvery = handler === ingest ? minuteEvents : Number.POSITIVE_INFINITY;
  const pollers = Array.from(
    { length: CONCURRENCY },
    () =>
      new SqsEventSourcePoller({
        sqs: system.sqs,
        queueUrl: system.queueUrls.usage,
        handler,
        batchSize,
        region: "us-east-1",
        functionName: name,
      }),
  );
  const t0 = performance.now();
  const results = await Promise.all(pollers.map((p) => p.drain()));
  const seconds = (performance.now() - t0) / 1000;
  // The phase's last events are folded too (a last, partial minute: counted in full, conservative).
  await foldChain;
  if (stretch.last) {
    if (handler === ingest) await foldEverything();
    sinceTick = 0;
  }
  const m = meter;
  meter = undefined;
  const processed = results.reduce((s, r) => s + r.processed, 0);
  const failed = results.reduce((s, r) => s + r.failed, 0);
  return {
    name,
    events,
    messages: bodies.length,
    processed,
    failed,
    seconds,
    perSecond: events / seconds,
    meter: m,
    sqsRequests,
    handlerMs,
    handlerCpuMs,
    invocations,
    foldTicks,
    shardRuns,
    foldMs,
  };
}

const fmt = (x: number, d = 2) => x.toFixed(d);
try {
  // Today's 12 accounts, and the realistic base beside them (loaded once: ingest reads accounts by key).
  await system.loadConfig(
    REALISTIC.events > 0 || REALISTIC.lowTraffic > 0
      ? {
          accounts: [...accounts, ...realisticAccounts(REALISTIC.accounts)],
          tariffs: [...tariffs, ...realisticTariffs],
        }
      : { accounts, tariffs },
  );
  const warm = makeEvents("warm", N.warmup, 1);
  await phase(
    "warm-up",
    warm.map((e) => e.body),
    warm.length,
    ingest,
  );

  const sqsBodies = makeEvents("sqs", N.sqs, 2).map((e) => e.body);
  const sqs = await phase("sqs-ceiling", sqsBodies, sqsBodies.length, noop);
  const naiveBodies = makeEvents("naive", N.naive, 3).map((e) => e.body);
  const naiveRun = await phase("naive", naiveBodies, naiveBodies.length, naive);

  const singleEvents = makeEvents("single", N.single, 4);
  const single = await phase(
    "ingest-single",
    singleEvents.map((e) => e.body),
    singleEvents.length,
    ingest,
  );
  const dominantEvents = singleEvents.filter((e) => e.account === DOMINANT).length;

  const batchedEvents = makeEvents("batched", N.batched, 5);
  const batchedBodies: string[] = [];
  for (let i = 0; i < batchedEvents.length; i += BODY_EVENTS)
    batchedBodies.push(
      `[${batchedEvents
        .slice(i, i + BODY_EVENTS)
        .map((e) => e.body)
        .join(",")}]`,
    );
  const batched = await phase(
    "ingest-batch-bodies",
    batchedBodies,
    batchedEvents.length,
    ingest,
    BODY_BATCH_SIZE,
  );

  // ---- the realistic customer base: 1,000 messages per invocation, then quiet hours (50–100) ----
  const zipf = zipfPicker(REALISTIC.accounts, REALISTIC.zipf);
  const realisticMix: Mix = {
    account: (r) => realisticAccountId(zipf(r())),
    countries: COUNTRIES_50,
    networks: NETWORKS,
  };
  const realistic =
    REALISTIC.events > 0
      ? await (async () => {
          const events = makeEvents("real", REALISTIC.events, 6, realisticMix);
          return phase(
            "realistic",
            events.map((e) => e.body),
            events.length,
            ingest,
          );
        })()
      : undefined;
  /** Low traffic: sub-phases of invocations of 50, 60, … 100 messages, figures summed. */
  const lowTraffic =
    REALISTIC.lowTraffic > 0
      ? await (async () => {
          const events = makeEvents("quiet", REALISTIC.lowTraffic, 7, realisticMix);
          const sizes = [50, 60, 70, 80, 90, 100];
          const share = Math.ceil(events.length / sizes.length);
          const runs: PhaseResult[] = [];
          for (const [i, size] of sizes.entries()) {
            const part = events.slice(i * share, (i + 1) * share);
            if (part.length > 0)
              runs.push(
                await phase(
                  `low-traffic-${size}`,
                  part.map((e) => e.body),
                  part.length,
                  ingest,
                  size,
                  LOW_MINUTE_EVENTS,
                  { continued: i > 0, last: i === sizes.length - 1 },
                ),
              );
          }
          return sumPhases("low-traffic (50–100 messages per invocation)", runs);
        })()
      : undefined;

  /**
   * The steady state: every account's month has begun (an unmetered event of each, after the first
   * phase: at 1,000 events/s even the tail's last account sends hundreds a day), then one cadence
   * window of traffic (`--steady`, default the lag × a minute's events: 300,000), so the figures are
   * those of a deployed run every five minutes, not of the month's first marks.
   */
  const steady =
    REALISTIC.events > 0 && STEADY_EVENTS > 0
      ? await (async () => {
          let next = 0;
          const begin = makeEvents("begin", REALISTIC.accounts, 9, {
            ...realisticMix,
            account: () => realisticAccountId(next++ % REALISTIC.accounts),
          });
          await phase(
            "month begun (unmetered)",
            begin.map((e) => e.body),
            begin.length,
            ingest,
          );
          const events = makeEvents("steady", STEADY_EVENTS, 8, realisticMix);
          const r = await phase(
            "realistic",
            events.map((e) => e.body),
            events.length,
            ingest,
          );
          return { ...r, name: "realistic, steady state (every account's month begun)" };
        })()
      : undefined;
  const describe = (r: typeof single) => {
    const m = r.meter!;
    const hottest = [...m.pkWru].sort((a, b) => b[1] - a[1])[0] ?? ["", 0];
    return { m, hottest };
  };
  const s = describe(single);
  const b = describe(batched);
  const hottestPer10k = (s.hottest[1] / dominantEvents) * 10_000;

  const cs = costPerMillion(single, 10);
  // A batch body of 50 small events is far below 64 KB: 10 bodies per SendMessageBatch would exceed
  // the 1 MiB batch limit only for large bodies; bill each body's 64 KB chunks.
  const cb = costPerMillion(batched, 1);
  const cr = realistic && costPerMillion(realistic, 10);
  const cst = steady && costPerMillion(steady, 10);
  const cl = lowTraffic && costPerMillion(lowTraffic, 10);

  const line = (label: string, v: string) => console.log(`${label.padEnd(48)} ${v}`);
  console.log(
    `\nIngest benchmark — ${new Date().toISOString()}, ${CONCURRENCY} pollers × ${BATCH_SIZE} messages per invocation (batch bodies of ${BODY_EVENTS} events: ${BODY_BATCH_SIZE}), ${USAGE_SHARDS} shards`,
  );
  line("warm-up", `${N.warmup} events`);
  line("SQS ceiling (receive + delete, no-op handler)", `${fmt(sqs.perSecond, 0)} msg/s`);
  line(
    "naive (conditional put + ADD per event)",
    `${fmt(naiveRun.perSecond, 0)} events/s  (${naiveRun.failed} failed)`,
  );
  for (const [r, d, c] of [
    [single, s, cs],
    [batched, b, cb],
    ...(realistic && cr ? [[realistic, describe(realistic), cr] as const] : []),
    ...(steady && cst ? [[steady, describe(steady), cst] as const] : []),
    ...(lowTraffic && cl ? [[lowTraffic, describe(lowTraffic), cl] as const] : []),
  ] as const) {
    console.log(
      `\n${r.name}: ${r.events} events in ${r.messages} messages, ${fmt(r.seconds, 1)} s, ${r.failed} failed deliveries`,
    );
    line(
      "  end-to-end",
      `${fmt(r.perSecond, 0)} events/s (${fmt(r.perSecond / naiveRun.perSecond, 1)}× naive, ${fmt((100 * r.perSecond) / sqs.perSecond, 0)} % of the SQS ceiling)`,
    );
    line(
      "  DynamoDB requests per event",
      `${fmt(d.m.requests / r.events, 3)}  ${JSON.stringify(Object.fromEntries(d.m.byCommand))}`,
    );
    line(
      "  write units per event",
      `${fmt(d.m.wru / r.events, 3)}  by item: ${[...d.m.kindWru].map(([k, v]) => `${k} ${fmt(v / r.events, 3)}`).join(", ")}`,
    );
    line("  read units per event", fmt(d.m.rru / r.events, 3));
    line(
      "  fold ticks / shard runs / fold time per tick",
      `${r.foldTicks} / ${r.shardRuns} / ${fmt(r.foldMs / Math.max(1, r.foldTicks), 0)} ms (a shard run every ${fmt((r.events * foldDeps.journal.shards) / Math.max(1, r.shardRuns), 0)} events)`,
    );
    line("  hottest partition key", `${d.hottest[0]}: ${d.hottest[1]} WRU`);
    line("  SQS requests per event (send + receive + delete)", fmt(c.sqsReq, 3));
    line(
      "  per invocation: handler wall / CPU time",
      `${fmt(r.handlerMs / r.invocations, 0)} ms / ${fmt(r.handlerCpuMs / r.invocations, 0)} ms (${fmt(r.events / r.invocations, 0)} events each)`,
    );
    line(
      "  USD per million events",
      `${fmt(c.total, 3)} (SQS ${fmt(c.sqs, 3)}, Lambda ${fmt(c.lambda, 3)}, DynamoDB ${fmt(c.dynamodb, 3)})`,
    );
  }
  line(
    "\nhottest key WRU per 10,000 events of acct-00",
    `${fmt(hottestPer10k, 0)} (acct-00: ${dominantEvents} of ${single.events} events)`,
  );
  const rss = process.resourceUsage().maxRSS / 1024;
  line("peak heap used (after a handler call)", `${fmt(peakHeapMb, 0)} MB`);
  line(
    "peak RSS (this process: poller, handler, SQS server)",
    `${fmt(rss, 0)} MB (DynamoDB Local is a separate JVM)`,
  );
  console.log(`prices (us-east-1): ${JSON.stringify(PRICES)}`);
  console.log(
    JSON.stringify({
      events_per_s: Math.round(single.perSecond),
      naive_events_per_s: Math.round(naiveRun.perSecond),
      sqs_ceiling_per_s: Math.round(sqs.perSecond),
      ddb_requests_per_event: Number(fmt(s.m.requests / single.events, 3)),
      wru_per_event: Number(fmt(s.m.wru / single.events, 3)),
      rru_per_event: Number(fmt(s.m.rru / single.events, 3)),
      hottest_key_wru_per_10k: Math.round(hottestPer10k),
      usd_per_million: Number(fmt(cs.total, 3)),
      peak_rss_mb: Math.round(rss),
      ...(realistic && cr
        ? {
            realistic_events_per_s: Math.round(realistic.perSecond),
            realistic_wru_per_event: Number(fmt((realistic.meter as Meter).wru / realistic.events, 3)),
            realistic_rru_per_event: Number(fmt((realistic.meter as Meter).rru / realistic.events, 3)),
            realistic_usd_per_million: Number(fmt(cr.total, 3)),
          }
        : {}),
      ...(steady && cst
        ? {
            steady_wru_per_event: Number(fmt((steady.meter as Meter).wru / steady.events, 3)),
            steady_rru_per_event: Number(fmt((steady.meter as Meter).rru / steady.events, 3)),
            steady_usd_per_million: Number(fmt(cst.total, 3)),
          }
        : {}),
      ...(lowTraffic && cl
        ? {
            low_traffic_wru_per_event: Number(fmt((lowTraffic.meter as Meter).wru / lowTraffic.events, 3)),
            low_traffic_usd_per_million: Number(fmt(cl.total, 3)),
          }
        : {}),
    }),
  );
} finally {
  await system.stop();
}

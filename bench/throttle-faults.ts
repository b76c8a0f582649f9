/**
 * Benchmark (never a test): a fault-injection run. For `--minutes` (default 10) usage is sent to the
 * embedded stack's SQS queue at a steady rate while `--concurrency` event-source pollers run the real
 * ingest handler, whose every DynamoDB request is throttled with probability `--rate` (default 5 %),
 * inside the SDK's retry loop as DynamoDB answers (400 ThrottlingException: the SDK retries with its
 * back-off, up to 3 attempts; past that ingest returns the messages to the queue), and so is each
 * statement of a BatchExecuteStatement (the identity claims), one by one, as DynamoDB answers a
 * throttled statement inside a 200 response (ingest retries those itself). A tenth of the
 * messages are re-sent copies (SQS delivers at least once). Then the queue is drained, the period
 * closed, and the result compared with what was sent: dead letters (store and SQS DLQ), counted
 * events, stateful events and invoice lines per account.
 *
 * The deployment's timing, scaled down: the ingest timeout is `--timeout-seconds` (default 5), the
 * take-over cut-off 4 of them, a failed message stays invisible for 6 timeouts + 1 s (the usage queue's
 * visibility), and a message goes to the DLQ after 5 receives, as in infra/constructs/usage-ingest.ts.
 *
 *   npm run bench:faults [-- --minutes 10 --rate 0.05 --per-second 100 --concurrency 4 --batch-size 1000]
 *
 * Stderr: progress each 30 s; stdout: the figures, the last line one JSON object.
 */

import type { Context, SQSEvent } from "aws-lambda";
import { createIngestHandler, IngestBatchFailedError } from "../functions/ingest-usage/handler.js";
import { startLocalBillingSystem } from "../local/billing-system.js";
import { causeOf } from "../shared/adapters/aws-errors.js";
import { DynamoBillingStore } from "../shared/adapters/dynamodb/billing-table.js";
import { systemClock } from "../shared/ports/clock.js";
import { cachedConfig, storeDeps } from "../shared/runtime/wiring.js";
import { faultyClient, throttled } from "../test/support/faulty-dynamodb.js";
import { configOf, stdTariffs } from "../test/support/scenario.js";
import { allLines } from "../test/support/table-scans.js";
import { benchOptions } from "./bench-options.js";
import { INGEST_POLLER_ARGS, ingestPollers } from "./ingest-pollers.js";

process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
const args = benchOptions({
  minutes: 10,
  rate: 0.05,
  "per-second": 100,
  ...INGEST_POLLER_ARGS,
  "timeout-seconds": 5,
});
const MINUTES = args.minutes;
const RATE = args.rate;
const PER_SECOND = args["per-second"];
const CONCURRENCY = args.concurrency;
const BATCH_SIZE = args["batch-size"];
const TIMEOUT_S = args["timeout-seconds"];
const MAX_RECEIVES = 5;
const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);

/**
 * Last month on the real clock: ingest refuses events older than the identity retention (400 days),
 * so a fixed month would be dead-lettered once it is that old.
 */
const PERIOD_START = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 1, 1);
const PERIOD = new Date(PERIOD_START).toISOString().slice(0, 7);
const ACCOUNTS = ["acme", "globex", "initech", "umbrella", "hooli"];
const tariffs = stdTariffs([
  { product: "sms.mt", unitPrice: "0.05" },
  { product: "whatsapp.template", match: { category: "marketing" }, unitPrice: "0.05" },
]);
const config = configOf(tariffs, ACCOUNTS);

/** Event n: an SMS (counted), every 5th a WhatsApp template (stateful); accounts round-robin. */
function body(n: number): { account: string; stateful: boolean; body: string } {
  const account = ACCOUNTS[n % ACCOUNTS.length]!;
  const stateful = n % 5 === 4;
  const time = new Date(PERIOD_START + (n % 2_419_200) * 1000).toISOString(); // within 28 days
  const data = stateful
    ? { endUserId: `u${n}`, senderId: "wa1", kind: "template", category: "marketing", delivered: true }
    : { to: `${n}`, country: "TR", status: "submitted" };
  const type = stateful ? "whatsapp.message" : "sms.mt";
  return {
    account,
    stateful,
    body: JSON.stringify({
      specversion: "1.0",
      id: `f-${n}`,
      source: "/bench",
      type,
      subject: account,
      time,
      data,
    }),
  };
}

async function main() {
  const system = await startLocalBillingSystem({ clock: systemClock, maxReceiveCount: MAX_RECEIVES });
  try {
    await system.loadConfig(config);
    const faulty = faultyClient(system.endpoints.dynamodb, {
      mode: "once",
      rate: RATE,
      statementRate: RATE,
      withinRetries: true,
      error: throttled,
    });
    // The ingest function as deployed, every DynamoDB request on the faulty client.
    const store = new DynamoBillingStore(faulty.client, system.tableName, {
      ingestTimeoutMs: TIMEOUT_S * 1000,
      claimConcurrency: 4,
    });
    const deps = storeDeps(store, systemClock, cachedConfig(store, systemClock, 60_000), {
      configCacheMs: 60_000,
    });
    const ingest = createIngestHandler(deps);
    const tally = { stored: 0, duplicate: 0, conflict: 0, "dead-lettered": 0, failed: 0 };
    const causes = new Map<string, number>();
    let invocations = 0;
    let failedInvocations = 0;
    const handler = async (event: SQSEvent, context: Context) => {
      invocations += 1;
      try {
        const r = await ingest(event, context);
        for (const [k, v] of Object.entries(r.outcomes)) tally[k as keyof typeof tally] += v;
        return r;
      } catch (e) {
        failedInvocations += 1;
        if (e instanceof IngestBatchFailedError) {
          for (const [k, v] of Object.entries(e.outcomes)) tally[k as keyof typeof tally] += v;
          const cause = causeOf(e.cause);
          causes.set(cause, (causes.get(cause) ?? 0) + 1);
        }
        throw e;
      }
    };
    const pollers = ingestPollers(system, CONCURRENCY, {
      handler,
      batchSize: BATCH_SIZE,
      maxBatchingWindowMs: 1000,
      failedVisibilityTimeoutSeconds: 6 * TIMEOUT_S + 1,
      onHandlerError: () => undefined,
    });

    // Expected totals: each distinct event once, whatever the copies and the retries.
    const expected = new Map(ACCOUNTS.map((a) => [a, { counted: 0, stateful: 0 }]));
    let sent = 0;
    let copies = 0;
    let next = 0;
    const started = Date.now();
    const endAt = started + MINUTES * 60_000;
    let producing = true;
    const producer = (async () => {
      for (let second = 0; Date.now() < endAt; second++) {
        const bodies: string[] = [];
        for (let i = 0; i < PER_SECOND; i++) {
          // A tenth are copies of an earlier message (at-least-once delivery upstream).
          if (next > 0 && i % 10 === 9) {
            bodies.push(body(Math.floor(Math.random() * next)).body);
            copies += 1;
            continue;
          }
          const b = body(next++);
          const e = expected.get(b.account)!;
          if (b.stateful) e.stateful += 1;
          else e.counted += 1;
          bodies.push(b.body);
        }
        const { refused } = await system.send(bodies);
        if (refused.length > 0) throw new Error(`the queue refused ${refused.length} bodies`);
        sent += bodies.length;
        const wait = started + (second + 1) * 1000 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      producing = false;
    })();
    const progress = setInterval(
      () =>
        log(
          `sent ${sent} (${copies} copies); ${JSON.stringify(tally)}; ${faulty.calls.length} DynamoDB requests, ${faulty.injected()} throttled; ${invocations} invocations (${failedInvocations} failed whole)`,
        ),
      30_000,
    );
    const consumers = pollers.map(async (p) => {
      while (producing) {
        const r = await p.pollOnce();
        if (r.received === 0) await new Promise((res) => setTimeout(res, 200));
      }
      await p.drain();
    });
    await producer;
    const producedAt = Date.now();
    await Promise.all(consumers);
    clearInterval(progress);
    const drainedAt = Date.now();
    log(`drained ${((drainedAt - producedAt) / 1000).toFixed(1)} s after the last send`);

    // The result, read with a healthy client (the system's own store).
    const letters = await system.store.list();
    const dlq = await system.failedMessages.listAll();
    const mismatches: string[] = [];
    for (const [account, e] of expected) {
      const counters = await system.store.usage.countersOf(account, PERIOD);
      const stateful = await system.store.usage.statefulEventsOf(account, [PERIOD]);
      if (counters.events !== e.counted || stateful.length !== e.stateful)
        mismatches.push(
          `${account}: counted ${counters.events}/${e.counted}, stateful ${stateful.length}/${e.stateful}`,
        );
    }
    const reports = await system.close(PERIOD, ACCOUNTS);
    const lines = await allLines(system.store);
    for (const [account, e] of expected) {
      const mine = lines.filter((l) => l.account_id === account && l.period === PERIOD);
      const amount = (product: string) => mine.find((l) => l.product === product)?.amount ?? "0.00";
      const want = (n: number) => (n * 0.05).toFixed(2);
      if (amount("sms.mt") !== want(e.counted) || amount("whatsapp.template") !== want(e.stateful))
        mismatches.push(
          `${account} lines: sms.mt ${amount("sms.mt")}/${want(e.counted)}, whatsapp.template ${amount("whatsapp.template")}/${want(e.stateful)}`,
        );
    }
    const distinct = next;
    const result = {
      minutes: MINUTES,
      throttledRate: RATE,
      messagesSent: sent,
      distinctEvents: distinct,
      copies,
      dynamodbRequests: faulty.calls.length,
      throttledRequests: faulty.injected(),
      throttledStatements: faulty.injectedStatements(),
      invocations,
      invocationsFailedWhole: failedInvocations,
      wholeBatchFailureCauses: Object.fromEntries(causes),
      outcomes: tally,
      deadLetters: letters.length,
      sqsDlq: dlq.length,
      closedAccounts: reports.filter((r) => r.status === "closed").length,
      exactTotals: mismatches.length === 0,
      mismatches,
      drainSecondsAfterLastSend: Math.round((drainedAt - producedAt) / 1000),
    };
    console.log(
      `${MINUTES} min, ${(RATE * 100).toFixed(1)} % of ${result.dynamodbRequests} DynamoDB requests throttled (${result.throttledRequests}; and ${result.throttledStatements} claim statements); ` +
        `${sent} messages (${distinct} distinct events, ${copies} copies); ${invocations} invocations, ${failedInvocations} failed whole; ` +
        `messages returned to the queue ${tally.failed}; dead letters ${letters.length}, SQS DLQ ${dlq.length}; ` +
        `totals ${result.exactTotals ? "exact" : `WRONG: ${mismatches.join("; ")}`}`,
    );
    console.log(JSON.stringify(result));
    if (!result.exactTotals || letters.length > 0 || dlq.length > 0) process.exitCode = 1;
  } finally {
    await system.stop();
  }
}

await main();

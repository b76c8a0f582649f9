/**
 * A local stack that stays up (`billing stack start|stop|serve --dir DIR`): DynamoDB Local with its
 * data in DIR/dynamodb (not in memory), the SQS/S3 server (fauxqs, in this process), the event-source
 * poller running the real ingest handler as long as the stack runs, the local Metering API and the
 * finance API (shared/app/finance-api.ts, BILLING_API_URL), all
 * on 127.0.0.1 and on ports free at start.
 *
 * One supervisor process (this module's serveLocalStack, run by `billing stack serve`) owns them all:
 * it writes its pid to DIR/stack.pid first, then DIR/env (`export …` lines for the stack commands)
 * and DIR/stack.json once everything answers; SIGTERM or SIGINT stops every part (the poller finishes
 * its batch first), removes the pid file and exits. DynamoDB data (DIR/dynamodb) and the exports
 * bucket's objects (DIR/s3: exports, manifests, large dead-letter bodies; local/persistent-s3.ts)
 * survive a stop and a start; the queues are created again, empty, at each start (a stop lets the
 * poller finish its batch). The Marketplace reporter runs hourly, and when a new azure-marketplace
 * account is stored.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createIngestHandler, wrapIngestHandler } from "../functions/ingest-usage/handler.js";
import { DynamoMarketplaceStore } from "../shared/adapters/dynamodb/marketplace-store.js";
import { HttpMeteringClient } from "../shared/adapters/marketplace/http-metering-client.js";
import { createStreamingFinanceApi } from "../shared/app/finance-api.js";
import { reportMarketplaceUsage } from "../shared/app/report-marketplace-usage.js";
import { HOUR } from "../shared/core/time.js";
import { type Clock, systemClock } from "../shared/ports/clock.js";

/** A clock that reads `start` now and runs at real speed from there. */
const runningFrom = (start: number): Clock => {
  const offset = start - Date.now();
  return { now: () => Date.now() + offset };
};

import { cachedConfig, storeDeps } from "../shared/runtime/wiring.js";
import { type LocalBillingSystem, REGION, startLocalBillingSystem } from "./billing-system.js";
import { SqsEventSourcePoller } from "./event-source-poller.js";
import { startFinanceApiServer } from "./finance-api-server.js";
import { LocalMeteringApi, type MeteringResource, meteringResourcesOf } from "./metering-api.js";

/** The files a stack keeps in its directory. */
export const stackFiles = (dir: string) => ({
  pid: join(dir, "stack.pid"),
  env: join(dir, "env"),
  state: join(dir, "stack.json"),
  log: join(dir, "stack.log"),
  dynamodb: join(dir, "dynamodb"),
  s3: join(dir, "s3"),
});

/** What a running stack wrote to DIR/stack.json. */
export interface StackState {
  readonly supervisorPid: number;
  readonly dynamodbPid: number;
  readonly startedAt: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface RunningStack {
  readonly state: StackState;
  /** Stops every part (waits for each); idempotent. */
  stop(): Promise<void>;
}

/** The hourly reporter runs this far into each hour (the deployed schedule's hour has just ended too). */
const REPORT_MINUTE_MS = 60_000;
/** How often the Metering API rereads the stored accounts (a `billing config load` reaches it within this). */
const RESOURCES_REFRESH_MS = 5_000;
/** The poller's long poll: an idle stack costs one receive per second, and stops within one. */
const WAIT_SECONDS = 1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `export NAME='value'` lines, quoted for a POSIX shell. */
export function envFileText(env: Readonly<Record<string, string>>): string {
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
  return `${Object.entries(env)
    .map(([k, v]) => `export ${k}=${quote(v)}`)
    .join("\n")}\n`;
}

/** Starts every part of the stack in this process; resolves once all answer. */
export async function serveLocalStack(opts: {
  dir: string;
  log: (msg: string) => void;
  /**
   * The stack's clock starts at this instant and runs at real speed (default: the real clock). Data
   * of a past month can then be tried as if it had just happened: on the real clock, rating-rules G5
   * refuses events more than 400 days before their receipt as too old.
   */
  clockStart?: number;
}): Promise<RunningStack> {
  const dir = resolve(opts.dir);
  const clock = opts.clockStart !== undefined ? runningFrom(opts.clockStart) : systemClock;
  const files = stackFiles(dir);
  mkdirSync(files.dynamodb, { recursive: true });
  writeFileSync(files.pid, `${process.pid}\n`);
  const stops: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const s of stops.reverse()) await s().catch((e: unknown) => opts.log(`stop: ${String(e)}`));
      rmSync(files.state, { force: true });
      rmSync(files.pid, { force: true });
    })();
    return stopping;
  };
  try {
    const system: LocalBillingSystem = await startLocalBillingSystem({
      clock,
      dynamodbDataDir: files.dynamodb,
      s3DataDir: files.s3,
      log: opts.log,
    });
    stops.push(() => system.stop());

    // The Metering API knows the resources of the stored azure-marketplace accounts.
    const resources: MeteringResource[] = [];
    const metering = await new LocalMeteringApi({ clock, resources }).start();
    stops.push(() => metering.stop());
    // The hourly Marketplace reporter, as the deployed schedule runs it: at each hour (a minute in,
    // as the hour's usage is complete), and as soon as a new azure-marketplace account is stored, so
    // `billing marketplace reconcile` compares with what was really reported.
    const reporter = marketplaceReporter(system, metering.url, clock, opts.log);
    stops.push(() => reporter.stop());
    let known = "";
    const refreshResources = async () => {
      const c = await system.store.loadConfig().catch(() => undefined);
      if (!c) return;
      resources.splice(0, resources.length, ...meteringResourcesOf(c.accounts));
      const azure = JSON.stringify(resources.map((r) => r.resourceId).sort());
      if (azure !== known) {
        known = azure;
        if (resources.length > 0) reporter.runSoon("new azure-marketplace accounts");
      }
    };
    await refreshResources();
    const refresher = setInterval(() => void refreshResources(), RESOURCES_REFRESH_MS);
    stops.push(async () => clearInterval(refresher));

    // The event source mapping: the real (middy-wrapped) ingest handler on every batch, until stop.
    const deps = storeDeps(system.store, clock, cachedConfig(system.store, clock, 0), {
      blobs: system.blobs,
    });
    // The finance API on its own loopback port: the handler the HTTP API invokes, CSV streamed.
    const api = await startFinanceApiServer(
      createStreamingFinanceApi({
        periods: system.store,
        usage: system.store.usage,
        config: deps.config,
        explanations: system.store,
      }),
      opts.log,
    );
    stops.push(() => api.stop());
    const poller = new SqsEventSourcePoller({
      sqs: system.sqs,
      queueUrl: system.queueUrls.usage,
      handler: wrapIngestHandler(createIngestHandler(deps)),
      batchSize: 1000,
      waitTimeSeconds: WAIT_SECONDS,
      region: REGION,
      functionName: "ingest-usage",
      onBatch: ({ received, failed }) =>
        opts.log(`ingest: ${received} messages, ${failed} returned to the queue`),
    });
    let polling = true;
    const loop = (async () => {
      for (let errors = 0; polling; ) {
        try {
          await poller.pollOnce();
          errors = 0;
        } catch (e) {
          if (!polling) break;
          opts.log(`poller: ${(e as Error).message}`);
          await sleep(Math.min(5_000, 100 * 2 ** errors++));
        }
      }
    })();
    // Stopped before the SQS server: the batch in hand is finished and acknowledged first.
    stops.push(async () => {
      polling = false;
      await loop;
    });

    const env: Record<string, string> = {
      BILLING_STACK_DIR: dir,
      BILLING_TABLE: system.tableName,
      AWS_REGION: REGION,
      USAGE_QUEUE_URL: system.queueUrls.usage,
      USAGE_DLQ_URL: system.queueUrls.deadLetter,
      EXPORTS_BUCKET: system.exportsBucket,
      DYNAMODB_ENDPOINT: system.endpoints.dynamodb,
      SQS_ENDPOINT: system.endpoints.sqs,
      S3_ENDPOINT: system.endpoints.s3,
      METERING_API_URL: metering.url,
      BILLING_API_URL: api.url,
      // Any SDK or tool pointed at the local endpoints (the AWS CLI too) needs some credentials.
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    };
    const state: StackState = {
      supervisorPid: process.pid,
      dynamodbPid: system.dynamodbPid,
      startedAt: new Date().toISOString(),
      env,
    };
    writeFileSync(files.env, envFileText(env));
    writeFileSync(files.state, `${JSON.stringify(state, null, 2)}\n`);
    opts.log(
      `stack ready in ${dir} (supervisor pid ${process.pid}, DynamoDB Local pid ${system.dynamodbPid})`,
    );
    return { state, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Runs the Marketplace reporter (the same use case as the hourly Lambda) at each hour and on demand,
 * one run at a time; each run's outcome goes to the stack's log.
 */
function marketplaceReporter(
  system: LocalBillingSystem,
  meteringUrl: string,
  clock: Clock,
  log: (m: string) => void,
) {
  const deps = {
    ledger: system.store.usage,
    store: new DynamoMarketplaceStore(system.dynamodb, system.tableName),
    client: new HttpMeteringClient({ baseUrl: meteringUrl, retry: { baseDelayMs: 50, maxDelayMs: 1_000 } }),
    clock,
    config: cachedConfig(system.store, clock, 0),
  };
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const run = (why: string) => {
    if (stopped) return running;
    running = running.then(async () => {
      if (stopped) return;
      try {
        const r = await reportMarketplaceUsage(deps);
        log(
          `marketplace reporter (${why}): ${r.accounts.length} accounts, ${r.calls} calls, accepted ${r.totals.accepted}, expired ${r.totals.expired}, rejected ${r.totals.rejected}, pending ${r.totals.pending}`,
        );
      } catch (e) {
        log(`marketplace reporter (${why}): ${(e as Error).message}`);
      }
    });
    return running;
  };
  const schedule = () => {
    const now = Date.now();
    const next = Math.floor(now / HOUR) * HOUR + HOUR + REPORT_MINUTE_MS;
    timer = setTimeout(() => {
      void run("hourly");
      schedule();
    }, next - now);
    timer.unref();
  };
  schedule();
  return {
    runSoon: (why: string) => void run(why),
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** The pid in DIR/stack.pid, if the file is there. */
export function readStackPid(dir: string): number | undefined {
  const file = stackFiles(dir).pid;
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function readStackState(dir: string): StackState | undefined {
  try {
    return JSON.parse(readFileSync(stackFiles(dir).state, "utf8")) as StackState;
  } catch {
    return undefined;
  }
}

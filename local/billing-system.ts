/**
 * The whole billing system on the embedded local stack: DynamoDB Local, the SQS-compatible server,
 * the event-source poller invoking the real ingest handler, and the close function — all on an
 * injected clock. fauxqs also serves S3: the exports bucket holds dead letters' large bodies and each close's
 * objects by period. Used by `billing simulate`, the integration tests and the benchmarks.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { createCloseSchedulerHandler } from "../functions/close-scheduler/handler.js";
import { createCloseWorkerHandler } from "../functions/close-worker/handler.js";
import {
  createIngestHandler,
  IngestBatchFailedError,
  wrapIngestHandler,
} from "../functions/ingest-usage/handler.js";
import { DynamoBillingStore, ensureBillingTable } from "../shared/adapters/dynamodb/billing-table.js";
import { DynamoCloseScheduleStore } from "../shared/adapters/dynamodb/close-schedule-store.js";
import { ensureBucket, S3BlobStore, s3Client } from "../shared/adapters/s3/blob-store.js";
import { S3ExportObjects } from "../shared/adapters/s3/export-objects.js";
import { SqsCloseQueue } from "../shared/adapters/sqs/close-queue.js";
import { SqsFailedMessageQueue } from "../shared/adapters/sqs/failed-message-queue.js";
import { SqsUsageQueue } from "../shared/adapters/sqs/usage-queue.js";
import { CloseMemoryBudget } from "../shared/app/close-budget.js";
import type { IngestOutcome } from "../shared/app/ingest-usage.js";
import type { ZoneFanOut } from "../shared/app/schedule-closes.js";
import {
  type AccountCloseOutcome,
  type AccountCloseReport,
  isCloseReport,
} from "../shared/core/close-report.js";
import { DEFAULT_CLOSE_GRACE_HOURS } from "../shared/core/close-schedule.js";
import type { BillingConfig } from "../shared/core/config.js";
import { compositeKey } from "../shared/core/keys.js";
import { type PeriodId, parsePeriod } from "../shared/core/time.js";
import type { BlobStore } from "../shared/ports/blob-store.js";
import type { Clock } from "../shared/ports/clock.js";
import type { RefusedBody } from "../shared/ports/storage.js";
import { CLOSE_WORKER_MEMORY_MB } from "../shared/runtime/environment.js";
import { cachedConfig, dynamoClient, sqsClient, storeDeps } from "../shared/runtime/wiring.js";
import { startDynamoDbLocal } from "./dynamodb-local.js";
import { SqsEventSourcePoller } from "./event-source-poller.js";
import { createCloseQueues, createUsageQueues } from "./queues.js";
import { startSqsServer } from "./sqs-server.js";

export const REGION = "us-east-1";
/** Messages per ingest invocation: the deployed event source mapping's batch size (infra/constructs/usage-ingest.ts). */
export const DEFAULT_BATCH_SIZE = 1000;

export type IngestTally = Record<IngestOutcome["kind"] | "failed", number>;

export interface LocalBillingSystem {
  readonly store: DynamoBillingStore;
  /** The DynamoDB client every part uses (benchmarks count its requests with a middleware). */
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly usageQueue: SqsUsageQueue;
  readonly failedMessages: SqsFailedMessageQueue;
  readonly queueUrls: { usage: string; deadLetter: string; close: string; closeDeadLetter: string };
  readonly closeQueue: SqsCloseQueue;
  /** fauxqs serves S3 on the SQS endpoint. */
  readonly endpoints: { dynamodb: string; sqs: string; s3: string };
  /** The exports bucket (dead letters' whole bodies) and its blob store. */
  readonly exportsBucket: string;
  readonly blobs: BlobStore;
  /** The DynamoDB Local JVM's process id (it must be gone after stop()). */
  readonly dynamodbPid: number;
  readonly tableName: string;
  loadConfig(config: BillingConfig): Promise<void>;
  /** Sends usage message bodies to the usage queue; returns those it refuses (never sent). */
  send(bodies: readonly string[]): Promise<{ refused: RefusedBody[] }>;
  /** Runs the event-source poller until the usage queue is empty; returns the outcome counts. */
  drain(
    onProgress?: (processed: number) => void,
    opts?: { batchSize?: number; timeoutMs?: number },
  ): Promise<IngestTally>;
  /**
   * Closes the period through the fan-out: one request per account (all configured
   * ones, or those named) on the close queue, drained by the close worker; reports in configuration order.
   */
  close(period: PeriodId, accountIds?: readonly string[]): Promise<AccountCloseReport[]>;
  /** Runs the close scheduler once at the clock's time (what the hourly schedule does). */
  scheduleCloses(graceHours?: number): Promise<ZoneFanOut[]>;
  /** The close scheduler's handler once at the clock's time: zone fan-out, then unclosed usage. */
  runCloseScheduler(
    graceHours?: number,
    overdueHours?: number,
  ): Promise<Awaited<ReturnType<ReturnType<typeof createCloseSchedulerHandler>>>>;
  /** Runs the close worker (`closeWorkers` pollers side by side) until the close queue is empty. */
  drainCloses(): Promise<AccountCloseOutcome[]>;
  /** Each close-worker poller's memory budget (close-budget.ts), one per simulated Lambda instance. */
  readonly closeBudgets: readonly CloseMemoryBudget[];
  stop(): Promise<void>;
}

export interface LocalSystemOptions {
  readonly clock: Clock;
  /** The ingest handler's receipt clock (default: `clock`); `billing simulate` sets its own. */
  readonly receiptClock?: Clock;
  readonly maxReceiveCount?: number;
  /** Messages per handler invocation (default 1000, as the deployed event source mapping). */
  readonly batchSize?: number;
  /** How long ingest may use an account it read (default 0: once per batch, so config changes apply at once). */
  readonly configCacheMs?: number;
  readonly attemptCutoffMs?: number;
  /**
   * Fold each ingested batch at once (default). The ingest benchmark sets false, as deployed: it
   * runs the fold itself at a stated cadence (shared/app/fold-usage.ts).
   */
  readonly foldInline?: boolean;
  /** Close workers polling side by side, as concurrent Lambda instances (default 1). */
  readonly closeWorkers?: number;
  /**
   * MB the closes of one close-worker instance may hold together (default: derived from the
   * deployed function's 1,024 MB, as the Lambda does; close-budget.ts).
   */
  readonly closeMemoryBudgetMb?: number;
  readonly log?: (msg: string) => void;
  /** DynamoDB Local keeps its data in this directory instead of in memory (`billing stack`). */
  readonly dynamodbDataDir?: string;
  /** The S3 server keeps its objects in this directory too (`billing stack`: exports, dead-letter bodies). */
  readonly s3DataDir?: string;
}

export async function startLocalBillingSystem(opts: LocalSystemOptions): Promise<LocalBillingSystem> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const dynamo = await startDynamoDbLocal({
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.dynamodbDataDir ? { dbPath: opts.dynamodbDataDir } : {}),
    });
    stops.push(dynamo.stop);
    const sqsServer = await startSqsServer(opts.s3DataDir ? { s3DataDir: opts.s3DataDir } : {});
    stops.push(sqsServer.stop);
    const endpoints = {
      region: REGION,
      dynamodbEndpoint: dynamo.endpoint,
      sqsEndpoint: sqsServer.endpoint,
      s3Endpoint: sqsServer.endpoint,
    };
    const ddb = dynamoClient(endpoints);
    const sqs = sqsClient(endpoints);
    const s3 = s3Client(endpoints);
    stops.push(async () => {
      ddb.destroy();
      sqs.destroy();
      s3.destroy();
    });
    const exportsBucket = "billing-exports";
    await ensureBucket(s3, exportsBucket);
    const blobs = new S3BlobStore(s3, exportsBucket);
    const tableName = "billing";
    await ensureBillingTable(ddb, tableName);
    const queues = await createUsageQueues(sqs, {
      prefix: "billing",
      maxReceiveCount: opts.maxReceiveCount ?? 3,
      visibilityTimeoutSeconds: 30,
    });
    const closeQueues = await createCloseQueues(sqs, {
      prefix: "billing",
      maxReceiveCount: opts.maxReceiveCount ?? 3,
      visibilityTimeoutSeconds: 30,
    });
    const store = new DynamoBillingStore(ddb, tableName, {
      claimConcurrency: 4,
      ...(opts.attemptCutoffMs !== undefined ? { attemptCutoffMs: opts.attemptCutoffMs } : {}),
      ...(opts.foldInline !== undefined ? { foldInline: opts.foldInline } : {}),
    });
    const usageQueue = new SqsUsageQueue(sqs, queues.usageQueueUrl);
    const failedMessages = new SqsFailedMessageQueue(sqs, queues.deadLetterQueueUrl, queues.usageQueueUrl);
    const config = cachedConfig(store, opts.clock, 0);
    const deps = storeDeps(store, opts.clock, config, { configCacheMs: opts.configCacheMs ?? 0, blobs });
    const ingest = createIngestHandler({ ...deps, clock: opts.receiptClock ?? opts.clock });
    const tally: IngestTally = { stored: 0, duplicate: 0, conflict: 0, "dead-lettered": 0, failed: 0 };
    // The same middy-wrapped handler Lambda runs; the tally only feeds progress and summaries.
    const count = (outcomes: IngestTally) => {
      for (const [k, v] of Object.entries(outcomes)) tally[k as keyof IngestTally] += v;
    };
    const lambda = wrapIngestHandler(async (event, context) => {
      try {
        const r = await ingest(event, context);
        count(r.outcomes);
        return r;
      } catch (e) {
        if (e instanceof IngestBatchFailedError) count(e.outcomes);
        throw e;
      }
    });
    const closeQueue = new SqsCloseQueue(sqs, closeQueues.closeQueueUrl);
    // The close worker as Lambda runs it: accounts and tariffs looked up per close (never cached).
    const closeDeps = storeDeps(store, opts.clock, config, {
      configCacheMs: 0,
      // Each close writes its objects by period to the exports bucket, as in the stack.
      exports: new S3ExportObjects(s3, exportsBucket),
    });
    let closeOutcomes = new Map<string, AccountCloseOutcome>();
    // One budget per poller: each stands for a Lambda instance of its own.
    const closeBudgets = Array.from({ length: Math.max(1, opts.closeWorkers ?? 1) }, () =>
      opts.closeMemoryBudgetMb !== undefined
        ? new CloseMemoryBudget(opts.closeMemoryBudgetMb * 2 ** 20)
        : CloseMemoryBudget.forFunctionMemory(CLOSE_WORKER_MEMORY_MB),
    );
    const closePollers = closeBudgets.map(
      (budget) =>
        new SqsEventSourcePoller({
          sqs,
          queueUrl: closeQueues.closeQueueUrl,
          handler: createCloseWorkerHandler(closeDeps, {
            onOutcome: (o) => closeOutcomes.set(compositeKey(o.accountId, o.period), o),
            budget,
          }),
          batchSize: 10,
          region: REGION,
          functionName: "close-worker",
        }),
    );
    // The close scheduler's handler as the hourly schedule runs it (manifests aside).
    const runScheduler = (graceHours: number, overdueHours?: number) =>
      createCloseSchedulerHandler(
        {
          schedule: new DynamoCloseScheduleStore(ddb, tableName),
          queue: closeQueue,
          clock: opts.clock,
          graceHours,
          unclosed: store.unclosed,
        },
        overdueHours !== undefined ? { overdueHours } : {},
      )();
    const drainCloses = async () => {
      closeOutcomes = new Map();
      await Promise.all(closePollers.map((p) => p.drain()));
      return [...closeOutcomes.values()];
    };
    const pollers = new Map<number, SqsEventSourcePoller>();
    const pollerFor = (batchSize: number) => {
      let p = pollers.get(batchSize);
      if (!p) {
        p = new SqsEventSourcePoller({
          sqs,
          queueUrl: queues.usageQueueUrl,
          handler: lambda,
          batchSize,
          region: REGION,
          functionName: "ingest-usage",
        });
        pollers.set(batchSize, p);
      }
      return p;
    };
    return {
      store,
      dynamodb: ddb,
      sqs,
      usageQueue,
      failedMessages,
      queueUrls: {
        usage: queues.usageQueueUrl,
        deadLetter: queues.deadLetterQueueUrl,
        close: closeQueues.closeQueueUrl,
        closeDeadLetter: closeQueues.closeDeadLetterQueueUrl,
      },
      closeQueue,
      endpoints: { dynamodb: dynamo.endpoint, sqs: sqsServer.endpoint, s3: sqsServer.endpoint },
      exportsBucket,
      blobs,
      dynamodbPid: dynamo.pid,
      tableName,
      loadConfig: (c) => store.saveConfig(c, opts.clock.now()),
      send: (bodies) => usageQueue.send(bodies),
      async drain(onProgress, drainOpts) {
        const before = { ...tally };
        const poller = pollerFor(drainOpts?.batchSize ?? opts.batchSize ?? DEFAULT_BATCH_SIZE);
        await poller.drain({
          ...(onProgress ? { onProgress: (p: { processed: number }) => onProgress(p.processed) } : {}),
          ...(drainOpts?.timeoutMs !== undefined ? { timeoutMs: drainOpts.timeoutMs } : {}),
        });
        const delta = { ...tally };
        for (const k of Object.keys(delta) as (keyof IngestTally)[]) delta[k] -= before[k];
        return delta;
      },
      async close(period, accountIds) {
        parsePeriod(period);
        const configured = (await config()).accounts.map((a) => a.accountId);
        // Every configured account, and those no longer configured that have usage in the period
        // (ended, contract §2): closed with their last version.
        const ended = accountIds
          ? []
          : (await store.unclosed.unclosedUsage(period))
              .map((u) => u.accountId)
              .filter((id) => !configured.includes(id));
        const accounts = [...configured.filter((id) => !accountIds || accountIds.includes(id)), ...ended].map(
          (accountId) => ({ accountId }),
        );
        await closeQueue.enqueue(accounts.map((a) => ({ accountId: a.accountId, period })));
        const byAccount = new Map(
          (await drainCloses()).filter((o) => o.period === period).map((o) => [o.accountId, o]),
        );
        const outcomes = accounts.map((a) => {
          const o = byAccount.get(a.accountId);
          if (!o) throw new Error(`close of ${a.accountId} ${period} left no outcome (see the close DLQ)`);
          return o;
        });
        const busy = outcomes.filter((o) => !isCloseReport(o));
        // This system is the only closer of its own stack: a claim held by another run is a bug here.
        if (busy.length > 0) throw new Error(`being closed by another run: ${JSON.stringify(busy)}`);
        return outcomes.filter(isCloseReport);
      },
      scheduleCloses: async (graceHours = DEFAULT_CLOSE_GRACE_HOURS) =>
        (await runScheduler(graceHours)).fannedOut,
      runCloseScheduler: (graceHours = DEFAULT_CLOSE_GRACE_HOURS, overdueHours?: number) =>
        runScheduler(graceHours, overdueHours),
      drainCloses,
      closeBudgets,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

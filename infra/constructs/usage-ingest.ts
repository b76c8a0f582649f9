/**
 * Usage in: the usage queue and its DLQ (producers in other accounts may send), the ingest function
 * on the queue, the operator's dead-letter function that lists and redrives what ingest refused,
 * their grants, and the alarms on ingest. Added to the given scope (the stack), so the logical IDs
 * stay those of the deployed resources (billing-data.ts says why).
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { INGEST_UNEXPECTED_ERRORS_METRIC } from "../../shared/runtime/observability.js";
import { alarmAbove, billingMetric, queueDepth } from "./alarms.js";
import { BillingFunction } from "./billing-function.js";
import { acknowledgePrefixGrant, DEAD_LETTER_BODIES_PREFIX } from "./exports-buckets.js";
import type { BillingParts } from "./function-set.js";
import {
  grantObjectsGet,
  grantObjectsPut,
  grantQueueConsume,
  grantQueueSend,
  grantWithEnv,
} from "./grants.js";
import { ingestDeadLetterRateAlarm } from "./ingest-fault-alarms.js";
import { notifyOnOk } from "./monitoring.js";
import { consumeQueue } from "./queue-source.js";

/** SQS's longest retention: usage survives a stopped event source for two weeks. */
export const USAGE_QUEUE_RETENTION = Duration.days(14);
/** Timeout of the ingest function; the usage queue's visibility timeout is derived from it. */
export const INGEST_TIMEOUT = Duration.seconds(30);
const INGEST_BATCHING_WINDOW = Duration.seconds(5);
/**
 * Messages per ingest invocation (docs/data-model.md): an invocation commits its events' counters
 * once per (account, period, counter), so large batches pre-aggregate; at 100 messages a
 * 12-account mix costs ≈ 2 write units per event, at 1,000 ≈ 1.4 (docs/performance.md). Lambda
 * also caps an invocation's payload at 6 MB, which bounds the work of batch bodies.
 */
export const INGEST_BATCH_SIZE = 1000;
/**
 * Most ingest invocations at once: bounds the write rate on the table and its hottest keys. With
 * 1,000 messages per invocation, 10,000 events/s needs a batch done in ≤ 2 s (docs/performance.md
 * "Capacity of a stage").
 */
export const INGEST_MAX_CONCURRENCY = 20;
/**
 * Ingest's memory, hence its CPU share (1,769 MB = one vCPU): a 1,000-event batch measured 177 ms
 * of CPU and 85 MB of heap, so CPU, not memory, bounds it: ≈ 610 ms of a batch at 512 MB, ≈ 305 ms
 * at 1,024 MB, which leaves 1.7 s of the 2 s for DynamoDB (docs/performance.md).
 */
export const INGEST_MEMORY_MB = 1024;

/**
 * The usage queue (its DLQ after 5 receives): it keeps 14 days (SQS's most), so a stopped event
 * source over a long weekend loses nothing. A message keeps its first enqueue time in the DLQ, so
 * the usage DLQ's depth pages at once (an operator then has what is left of the 14 days).
 */
export const USAGE_QUEUE_SETTINGS = {
  retentionPeriod: USAGE_QUEUE_RETENTION,
  // AWS guidance: at least 6x the function timeout, plus the batching window.
  visibilityTimeout: Duration.seconds(6 * INGEST_TIMEOUT.toSeconds() + INGEST_BATCHING_WINDOW.toSeconds()),
  maxReceiveCount: 5,
} as const;

/** The upstream systems' accounts may send to the usage queue (the key lets them through SQS). */
export function allowUsageProducers(usageQueue: sqs.Queue, producers: readonly string[]): void {
  if (producers.length === 0) return;
  usageQueue.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "UsageProducersSend",
      principals: producers.map((a) => new iam.AccountPrincipal(a)),
      actions: ["sqs:SendMessage"],
      resources: [usageQueue.queueArn],
    }),
  );
}

/** The ingest function (rating usage into the table), alone on the usage queue. */
export function ingestFunction(scope: Construct, parts: BillingParts): BillingFunction {
  const { common } = parts;
  return new BillingFunction(scope, "IngestUsage", {
    ...common,
    // The take-over cut-off of a dead attempt's claims is derived from the function's own timeout.
    environment: { ...common.environment, INGEST_TIMEOUT_SECONDS: String(INGEST_TIMEOUT.toSeconds()) },
    entry: parts.entries.ingestUsage,
    description: "Rates CloudEvents usage messages from the usage queue into the billing table",
    timeout: INGEST_TIMEOUT,
    memorySize: INGEST_MEMORY_MB,
  });
}

/** The operator's tool over ingest's dead letters: list, and redrive to the usage queue. */
export function deadLetterFunction(scope: Construct, parts: BillingParts): BillingFunction {
  return new BillingFunction(scope, "DeadLetter", {
    ...parts.common,
    entry: parts.entries.deadLetter,
    description: "Operator tool: lists and redrives dead-lettered usage messages",
    timeout: Duration.minutes(5),
  });
}

export interface UsageIngestWiring {
  readonly ingestUsage: BillingFunction;
  readonly deadLetter: BillingFunction;
  readonly usageQueue: sqs.Queue;
  readonly usageDlq: sqs.Queue;
}

/**
 * Least privilege for ingest and the dead-letter tool: their table rows, the event source (which
 * polls with ingest's role: consume on the usage queue only), the redrive (send to the usage queue,
 * reading its size limit; consume the DLQ), and a large dead letter's body (ingest writes it, the
 * dead-letter tool reads it back to redrive).
 */
export function wireUsageIngest(parts: BillingParts, w: UsageIngestWiring): void {
  const { key, exportsBucket } = parts;
  consumeQueue(w.ingestUsage, "UsageQueueSource", w.usageQueue, key, {
    batchSize: INGEST_BATCH_SIZE,
    maxBatchingWindow: INGEST_BATCHING_WINDOW,
    maxConcurrency: INGEST_MAX_CONCURRENCY,
    failedMessages: "failed messages go to the usage DLQ by the queue's redrive policy (5 receives)",
  });
  grantQueueSend(w.deadLetter.function, w.usageQueue, key, { readsAttributes: true });
  grantQueueConsume(w.deadLetter.function, w.usageDlq, key);
  const bucketName = exportsBucket.bucketName;
  grantWithEnv(w.ingestUsage.function, "EXPORTS_BUCKET", bucketName, (g) =>
    grantObjectsPut(g, exportsBucket, key, DEAD_LETTER_BODIES_PREFIX),
  );
  grantWithEnv(w.deadLetter.function, "EXPORTS_BUCKET", bucketName, (g) =>
    grantObjectsGet(g, exportsBucket, key, DEAD_LETTER_BODIES_PREFIX),
  );
  for (const f of [w.ingestUsage, w.deadLetter])
    acknowledgePrefixGrant(
      f.function.role!,
      exportsBucket,
      DEAD_LETTER_BODIES_PREFIX,
      "Dead letters' whole bodies are objects named by their SHA-256 under this one prefix",
    );
}

/** The alarms on ingest (each notifies the alarm topic; docs/runbook.md says what to do). */
export function usageIngestAlarms(scope: Construct, w: Pick<UsageIngestWiring, "ingestUsage" | "usageDlq">) {
  // A dead-letter queue's return to empty (redriven) is news: OK is sent too.
  notifyOnOk(
    alarmAbove(
      scope,
      "UsageDlqNotEmptyAlarm",
      "Usage messages reached the dead-letter queue after 5 receives",
      queueDepth(w.usageDlq),
    ),
  );
  // Emitted by the ingest handler (CloudWatch EMF) for each message that failed through our fault
  // or the platform's (never dead-lettered: returned to the queue); any one alarms.
  alarmAbove(
    scope,
    "IngestErrorsAlarm",
    "Usage messages failed to ingest through our fault (throttling, AccessDenied, KMS, timeout, a bug): returned to the queue; the ingest log's ERROR lines name the cause",
    billingMetric(INGEST_UNEXPECTED_ERRORS_METRIC, cloudwatch.Stats.SUM),
  );
  ingestDeadLetterRateAlarm(scope);
  alarmAbove(
    scope,
    "IngestFunctionErrorsAlarm",
    "The ingest function failed (a whole batch failed, or it could not start): whole batch returned to the queue",
    w.ingestUsage.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
  );
}

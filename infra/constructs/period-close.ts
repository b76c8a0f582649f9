/**
 * The period close: the close queue and its DLQ (one request per account-period), the hourly
 * close scheduler that fills it, the close worker that consumes it and writes each account's
 * exports by period, their grants, schedule and alarm. Added to the given scope (the stack), so the
 * logical IDs stay those of the deployed resources (billing-data.ts says why).
 */
import { Duration } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { DEFAULT_CLOSE_GRACE_HOURS } from "../../shared/core/close-schedule.js";
import { CLOSE_WORKER_MEMORY_MB } from "../../shared/runtime/environment.js";
import { alarmAbove, queueDepth } from "./alarms.js";
import { BillingFunction } from "./billing-function.js";
import { acknowledgePrefixGrant, PERIOD_EXPORT_PREFIXES } from "./exports-buckets.js";
import type { BillingParts } from "./function-set.js";
import { grantObjectsPut, grantQueueSend, grantWithEnv } from "./grants.js";
import { notifyOnOk } from "./monitoring.js";
import { consumeQueue } from "./queue-source.js";
import { hourlySchedule } from "./schedules.js";

/** A period not closed this long after its end plus the grace alarms (shared with the scheduler's default). */
export { DEFAULT_CLOSE_OVERDUE_HOURS } from "../../shared/core/close-schedule.js";

/** Timeout of one close-worker invocation (a batch of CLOSE_BATCH_SIZE accounts closed side by side). */
const CLOSE_WORKER_TIMEOUT = Duration.minutes(5);
/** Close requests per worker invocation, closed concurrently. */
export const CLOSE_BATCH_SIZE = 10;
/**
 * Close workers running at once (the event source's maximum concurrency): bounds the write rate on
 * the table and leaves Lambda concurrency to ingest. 10,000 accounts at ~1 s per close and 10 per
 * invocation take ≈ 10,000 / (20 × 10) s ≈ 1 minute.
 */
export const CLOSE_MAX_CONCURRENCY = 20;
/**
 * Receives of a close request before the close DLQ: a request held by a crashed run's claim is
 * retried each visibility timeout (6 × the worker timeout = 30 min), so 5 receives outlast the
 * 20-minute claim lease (close-period.ts) several times over.
 */
export const CLOSE_MAX_RECEIVE_COUNT = 5;

/** The close queue (one message per account-period to close) and when its DLQ takes a request. */
export const CLOSE_QUEUE_SETTINGS = {
  visibilityTimeout: Duration.seconds(6 * CLOSE_WORKER_TIMEOUT.toSeconds()),
  maxReceiveCount: CLOSE_MAX_RECEIVE_COUNT,
} as const;

/** The hourly scheduler (enqueues due accounts) and the worker (closes one account-period per request). */
export function closeFunctions(
  scope: Construct,
  parts: BillingParts,
  closeOverdueHours: number,
): { closeScheduler: BillingFunction; closeWorker: BillingFunction } {
  const { common } = parts;
  const closeScheduler = new BillingFunction(scope, "CloseScheduler", {
    ...common,
    environment: {
      ...common.environment,
      CLOSE_GRACE_HOURS: String(DEFAULT_CLOSE_GRACE_HOURS),
      CLOSE_OVERDUE_HOURS: String(closeOverdueHours),
    },
    entry: parts.entries.closeScheduler,
    description:
      "Hourly: enqueues one close request per account whose period ended in its own time zone plus the grace",
    timeout: Duration.minutes(15),
  });
  const closeWorker = new BillingFunction(scope, "CloseWorker", {
    ...common,
    entry: parts.entries.closeWorker,
    description: "Closes one account's period per close-queue message (atomic per account-period)",
    timeout: CLOSE_WORKER_TIMEOUT,
    memorySize: CLOSE_WORKER_MEMORY_MB,
  });
  return { closeScheduler, closeWorker };
}

/**
 * The close fan-out: the scheduler only sends close requests, the worker consumes them. Each close
 * writes its account's objects by period, multipart past 5 MB (KMS Decrypt too); the scheduler
 * rewrites changed periods' manifests, exporting first any account missing its objects.
 */
export function wirePeriodClose(
  parts: BillingParts,
  w: { closeScheduler: BillingFunction; closeWorker: BillingFunction; closeQueue: sqs.Queue },
): void {
  const { key, exportsBucket } = parts;
  grantWithEnv(w.closeScheduler.function, "CLOSE_QUEUE_URL", w.closeQueue.queueUrl, (g) =>
    grantQueueSend(g, w.closeQueue, key),
  );
  consumeQueue(w.closeWorker, "CloseQueueSource", w.closeQueue, key, {
    batchSize: CLOSE_BATCH_SIZE,
    maxConcurrency: CLOSE_MAX_CONCURRENCY,
    failedMessages: "failed close requests go to the close DLQ by the queue's redrive policy (alarmed)",
  });
  for (const prefix of PERIOD_EXPORT_PREFIXES)
    for (const f of [w.closeWorker, w.closeScheduler]) {
      grantWithEnv(f.function, "EXPORTS_BUCKET", exportsBucket.bucketName, (g) =>
        grantObjectsPut(g, exportsBucket, key, prefix, { multipart: true }),
      );
      acknowledgePrefixGrant(
        f.function.role!,
        exportsBucket,
        prefix,
        "A period's exports (and its manifest) are objects under period=YYYY-MM/ of this prefix, one per account",
      );
    }
}

/**
 * The close scheduler runs hourly: each zone's accounts are enqueued in the first run after their
 * own period end plus the grace (G3).
 */
export function closeSchedule(
  scope: Construct,
  {
    closeScheduler,
    deadLetterQueue,
    key,
  }: { closeScheduler: BillingFunction; deadLetterQueue: sqs.IQueue; key: kms.IKey },
) {
  return hourlySchedule(scope, {
    name: "CloseScheduler",
    description:
      "Enqueue the closes of the accounts whose period ended in their own time zone (plus the grace)",
    function: closeScheduler,
    deadLetterQueue,
    key,
  });
}

/** A close request in the DLQ is an account-period not closed; its return to empty (redriven) is news too. */
export function periodCloseAlarms(scope: Construct, closeDlq: sqs.IQueue) {
  notifyOnOk(
    alarmAbove(
      scope,
      "CloseDlqNotEmptyAlarm",
      `Close requests reached the close DLQ after ${CLOSE_MAX_RECEIVE_COUNT} receives (an account-period not closed)`,
      queueDepth(closeDlq),
    ),
  );
}

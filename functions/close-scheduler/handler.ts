/**
 * Hourly (EventBridge Scheduler) → close scheduler: puts one close request per
 * account on the close queue once the account's period has ended in its own time zone plus the
 * grace (CLOSE_GRACE_HOURS, default 2). Idempotent and resumable (shared/app/schedule-closes.ts).
 * It also requests the close of every account with usage in an ended period that is still not
 * closed (the unclosed-usage index: removed accounts, accounts added after their zone's fan-out or
 * moved to another zone). Each run emits CloseAccountsOverdue: the accounts with usage not closed
 * CLOSE_OVERDUE_HOURS after their period's end plus the grace (alarmed). After the fan-out, with EXPORTS_BUCKET set, it
 * rewrites the manifest of each period whose exports changed since its manifest was written.
 */
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { DynamoCloseScheduleStore } from "../../shared/adapters/dynamodb/close-schedule-store.js";
import { SqsCloseQueue } from "../../shared/adapters/sqs/close-queue.js";
import { type PeriodExportDeps, writeChangedManifests } from "../../shared/app/period-exports.js";
import {
  type ScheduleClosesDeps,
  scheduleCloses,
  scheduleUnclosedUsage,
  type UnclosedUsageRun,
  type ZoneFanOut,
} from "../../shared/app/schedule-closes.js";
import { overdueAccounts } from "../../shared/core/close-schedule.js";
import type { PeriodId } from "../../shared/core/time.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { closeSchedulerEnvironmentSchema } from "../../shared/runtime/environment.js";
import { type AwsClients, lambdaEntry } from "../../shared/runtime/lambda-entry.js";
import { createMetrics, publishCloseSchedule } from "../../shared/runtime/observability.js";
import { exportObjects } from "../../shared/runtime/wiring.js";

export interface CloseSchedulerDeps extends ScheduleClosesDeps {
  /** The period index and the exports bucket, when one is configured: manifests kept current. */
  readonly manifests?: PeriodExportDeps | undefined;
}

export interface CloseSchedulerOptions {
  /** Hours after a period's end past which an account enqueued now is overdue. @default 6 */
  readonly overdueHours?: number;
  /** Each run's accounts enqueued and overdue (the Lambda handler publishes them as metrics). */
  readonly onRun?: (run: { enqueued: number; overdue: number }) => void;
}

export function createCloseSchedulerHandler(deps: CloseSchedulerDeps, opts: CloseSchedulerOptions = {}) {
  return async (
    _input?: unknown,
  ): Promise<{
    fannedOut: ZoneFanOut[];
    unclosed: UnclosedUsageRun;
    overdue: number;
    manifests: { period: PeriodId; accounts: number }[];
  }> => {
    const fannedOut = await scheduleCloses(deps);
    // Accounts with usage left unclosed (removed, added after the fan-out, moved zone, suspended):
    // requested again; overdue counts them, not only what this run queued, when the index is wired.
    const unclosed = await scheduleUnclosedUsage(deps, opts.overdueHours ?? 6);
    const overdue = deps.unclosed
      ? unclosed.overdue
      : overdueAccounts(deps.clock.now(), fannedOut, opts.overdueHours ?? 6);
    opts.onRun?.({ enqueued: fannedOut.reduce((n, f) => n + f.enqueued, 0) + unclosed.enqueued, overdue });
    // After the fan-out: the closes it requested run later; their manifests are the next run's.
    const manifests = deps.manifests ? await writeChangedManifests(deps.manifests) : [];
    return { fannedOut, unclosed, overdue, manifests };
  };
}

/** The Lambda's wiring (also run by the grants test against DynamoDB Local). */
export const closeSchedulerDeps = (
  env: {
    BILLING_TABLE: string;
    CLOSE_QUEUE_URL: string;
    CLOSE_GRACE_HOURS: number;
    EXPORTS_BUCKET?: string | undefined;
  },
  clients: Pick<AwsClients, "dynamo" | "sqs"> & Partial<Pick<AwsClients, "endpoints" | "trace">>,
  clock: Clock = systemClock,
): CloseSchedulerDeps => {
  const objects = clients.endpoints && exportObjects(clients.endpoints, env.EXPORTS_BUCKET, clients.trace);
  const store = new DynamoBillingStore(clients.dynamo, env.BILLING_TABLE);
  return {
    schedule: new DynamoCloseScheduleStore(clients.dynamo, env.BILLING_TABLE),
    queue: new SqsCloseQueue(clients.sqs, env.CLOSE_QUEUE_URL),
    clock,
    graceHours: env.CLOSE_GRACE_HOURS,
    unclosed: store.unclosed,
    manifests: objects && { periods: store, index: store, objects },
  };
};

export const handler = lambdaEntry(closeSchedulerEnvironmentSchema, (env, clients) => {
  const metrics = createMetrics();
  return createCloseSchedulerHandler(closeSchedulerDeps(env, clients), {
    overdueHours: env.CLOSE_OVERDUE_HOURS,
    onRun: (run) => publishCloseSchedule(metrics, run),
  });
});

/**
 * Hourly (EventBridge Scheduler) → close scheduler (decisions D15): puts one close request per
 * account on the close queue once the account's period has ended in its own time zone plus the
 * grace (CLOSE_GRACE_HOURS, default 2). Idempotent and resumable (shared/app/schedule-closes.ts).
 * Each run emits CloseAccountsOverdue: the accounts it enqueued more than CLOSE_OVERDUE_HOURS
 * after their period ended (alarmed, decisions D28).
 */
import { DynamoCloseScheduleStore } from "../../shared/adapters/dynamodb/close-schedule-store.js";
import { SqsCloseQueue } from "../../shared/adapters/sqs/close-queue.js";
import {
  type ScheduleClosesDeps,
  scheduleCloses,
  type ZoneFanOut,
} from "../../shared/app/schedule-closes.js";
import { overdueAccounts } from "../../shared/core/close-schedule.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { closeSchedulerEnvironmentSchema } from "../../shared/runtime/environment.js";
import { type AwsClients, lambdaEntry } from "../../shared/runtime/lambda-entry.js";
import { createMetrics, publishCloseSchedule } from "../../shared/runtime/observability.js";

export interface CloseSchedulerOptions {
  /** Hours after a period's end past which an account enqueued now is overdue. @default 6 */
  readonly overdueHours?: number;
  /** Each run's accounts enqueued and overdue (the Lambda handler publishes them as metrics). */
  readonly onRun?: (run: { enqueued: number; overdue: number }) => void;
}

export function createCloseSchedulerHandler(deps: ScheduleClosesDeps, opts: CloseSchedulerOptions = {}) {
  return async (_input?: unknown): Promise<{ fannedOut: ZoneFanOut[]; overdue: number }> => {
    const fannedOut = await scheduleCloses(deps);
    const overdue = overdueAccounts(deps.clock.now(), fannedOut, opts.overdueHours ?? 6);
    opts.onRun?.({ enqueued: fannedOut.reduce((n, f) => n + f.enqueued, 0), overdue });
    return { fannedOut, overdue };
  };
}

/** The Lambda's wiring (also run by the grants test against DynamoDB Local). */
export const closeSchedulerDeps = (
  env: { BILLING_TABLE: string; CLOSE_QUEUE_URL: string; CLOSE_GRACE_HOURS: number },
  clients: Pick<AwsClients, "dynamo" | "sqs">,
  clock: Clock = systemClock,
): ScheduleClosesDeps => ({
  schedule: new DynamoCloseScheduleStore(clients.dynamo, env.BILLING_TABLE),
  queue: new SqsCloseQueue(clients.sqs, env.CLOSE_QUEUE_URL),
  clock,
  graceHours: env.CLOSE_GRACE_HOURS,
});

export const handler = lambdaEntry(closeSchedulerEnvironmentSchema, (env, clients) => {
  const metrics = createMetrics();
  return createCloseSchedulerHandler(closeSchedulerDeps(env, clients), {
    overdueHours: env.CLOSE_OVERDUE_HOURS,
    onRun: (run) => publishCloseSchedule(metrics, run),
  });
});

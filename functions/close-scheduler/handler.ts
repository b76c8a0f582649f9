/**
 * Hourly (EventBridge Scheduler) → close scheduler (decisions D15): puts one close request per
 * account on the close queue once the account's period has ended in its own time zone plus the
 * grace (CLOSE_GRACE_HOURS, default 2). Idempotent and resumable (shared/app/schedule-closes.ts).
 */
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { DynamoCloseScheduleStore } from "../../shared/adapters/dynamodb/close-schedule-store.js";
import { SqsCloseQueue } from "../../shared/adapters/sqs/close-queue.js";
import { type ScheduleClosesDeps, scheduleCloses } from "../../shared/app/schedule-closes.js";
import { systemClock } from "../../shared/ports/clock.js";
import { ConfigurationError, readEnvironment } from "../../shared/runtime/environment.js";
import { dynamoClient, sqsClient } from "../../shared/runtime/wiring.js";

export function createCloseSchedulerHandler(deps: ScheduleClosesDeps) {
  return async (_input?: unknown) => ({ fannedOut: await scheduleCloses(deps) });
}

let lambdaHandler: ((input: unknown, context: Context) => Promise<unknown>) | undefined;
export const handler = (input: unknown, context: Context) => {
  if (!lambdaHandler) {
    const env = readEnvironment();
    if (!env.CLOSE_QUEUE_URL) throw new ConfigurationError("CLOSE_QUEUE_URL is not set");
    const endpoints = {
      region: env.AWS_REGION,
      dynamodbEndpoint: env.DYNAMODB_ENDPOINT,
      sqsEndpoint: env.SQS_ENDPOINT,
    };
    lambdaHandler = middy(
      createCloseSchedulerHandler({
        schedule: new DynamoCloseScheduleStore(dynamoClient(endpoints), env.BILLING_TABLE),
        queue: new SqsCloseQueue(sqsClient(endpoints), env.CLOSE_QUEUE_URL),
        clock: systemClock,
        graceHours: env.CLOSE_GRACE_HOURS,
      }),
    );
  }
  return lambdaHandler(input, context);
};

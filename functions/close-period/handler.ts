/**
 * Scheduled monthly (and invokable by hand): closes a billing period for every account.
 * Input `{ "period": "YYYY-MM", "accountIds"?: [...] }`. A scheduled run without a period closes the
 * previous calendar month; the schedule fires after that month has ended in every time zone
 * (UTC−12 ends it at 12:00 UTC on day 1).
 */
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { type AccountCloseOutcome, type CloseDeps, closePeriod } from "../../shared/app/close-period.js";
import { periodOf, shiftPeriod } from "../../shared/core/time.js";
import { systemClock } from "../../shared/ports/clock.js";
import { readEnvironment } from "../../shared/runtime/environment.js";
import { createMetrics, publishCloseRun } from "../../shared/runtime/observability.js";
import { cachedConfig, dynamoClient, storeDeps } from "../../shared/runtime/wiring.js";

const closeRequestSchema = z.object({
  period: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/)
    .optional(),
  accountIds: z.array(z.string().min(1)).optional(),
});

/** `onRun`: receives each run's duration and reports (the Lambda handler publishes them as metrics). */
export function createCloseHandler(
  deps: CloseDeps,
  opts: { onRun?: (run: { durationMs: number; reports: AccountCloseOutcome[] }) => void } = {},
) {
  return async (input: unknown) => {
    const req = closeRequestSchema.parse(input ?? {});
    const period = req.period ?? shiftPeriod(periodOf(deps.clock.now(), "UTC"), -1);
    const started = performance.now();
    const reports = await closePeriod(period, deps, req.accountIds ? { accountIds: req.accountIds } : {});
    opts.onRun?.({ durationMs: performance.now() - started, reports });
    return { period, reports };
  };
}

let lambdaHandler: ((input: unknown, context: Context) => Promise<unknown>) | undefined;
export const handler = (input: unknown, context: Context) => {
  if (!lambdaHandler) {
    const env = readEnvironment();
    const store = new DynamoBillingStore(
      dynamoClient({ region: env.AWS_REGION, dynamodbEndpoint: env.DYNAMODB_ENDPOINT }),
      env.BILLING_TABLE,
    );
    const config = cachedConfig(store, systemClock, 0);
    const metrics = createMetrics();
    lambdaHandler = middy(
      createCloseHandler(storeDeps(store, systemClock, config), {
        onRun: (run) => publishCloseRun(metrics, run),
      }),
    );
  }
  return lambdaHandler(input, context);
};

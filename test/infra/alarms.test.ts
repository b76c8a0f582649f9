/**
 * Every alarm of the stack, pinned (issue 12): one row per alarm with its metric
 * (namespace, name, statistic, period, dimensions) and threshold; each notifies the alarm topic on
 * ALARM and OK; the alarms the issue asks for are all there; the period-not-closed hours come from
 * the stack's `closeOverdueHours`; and the close scheduler emits its overdue metric exactly as the
 * alarm watches it. A fixture entry stands in for the handlers (no bundling needed here).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Alarm } from "aws-cdk-lib/aws-cloudwatch";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingFunctionName, BillingStack, DEFAULT_ENTRIES } from "../../infra/billing-stack.js";
import { UsageFold } from "../../infra/constructs/usage-fold.js";
import { attemptCutoffMsFor } from "../../shared/adapters/dynamodb/usage-store.js";
import {
  createMetrics,
  METRIC,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  publishCloseSchedule,
} from "../../shared/runtime/observability.js";
import { captureOutput, emfDocuments } from "../support/capture-output.js";

const fixture = fileURLToPath(new URL("./fixtures/echo-handler.ts", import.meta.url));
const OVERDUE_HOURS = 8;

interface AlarmProps {
  Namespace?: string;
  Metrics?: unknown[];
  DatapointsToAlarm?: number;
  MetricName: string;
  Statistic: string;
  Period: number;
  Threshold: number;
  Dimensions: { Name: string; Value: unknown }[];
  ComparisonOperator: string;
  EvaluationPeriods: number;
  TreatMissingData: string;
  AlarmActions: unknown[];
  OKActions?: unknown[];
}

describe("BillingStack alarms", () => {
  let outdir: string;
  let stack: BillingStack;
  let alarms: Map<string, AlarmProps>;
  let topic: unknown;
  const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), "billing-alarms-test-"));
    stack = new BillingStack(new App({ outdir }), "CpaasBilling", {
      marketplaceApiUrl: "https://marketplaceapi.microsoft.com",
      closeOverdueHours: OVERDUE_HOURS,
      entries: Object.fromEntries(Object.keys(DEFAULT_ENTRIES).map((k) => [k, fixture])),
    });
    const template = Template.fromStack(stack);
    topic = { Ref: id(stack.monitoring.topic) };
    // Keyed by the alarm's construct id (its path under the stack or the Monitoring construct).
    alarms = new Map(
      stack.node
        .findAll()
        .filter((c) => c instanceof Alarm)
        .map((c) => [c.node.id, template.toJSON().Resources[id(c)].Properties as AlarmProps]),
    );
  });
  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  const custom = (metric: string, statistic: string, period: number, threshold = 0) => ({
    Namespace: METRICS_NAMESPACE,
    MetricName: metric,
    Statistic: statistic,
    Period: period,
    Threshold: threshold,
    Dimensions: Object.entries(METRIC_DIMENSIONS).map(([Name, Value]) => ({ Name, Value })),
  });
  const queue =
    (q: () => IConstruct, metric: string, threshold = 0) =>
    () => ({
      Namespace: "AWS/SQS",
      MetricName: metric,
      Statistic: "Maximum",
      Period: 300,
      Threshold: threshold,
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [id(q()), "QueueName"] } }],
    });
  const lambda =
    (fn: BillingFunctionName, metric: string, period = 300) =>
    () => ({
      Namespace: "AWS/Lambda",
      MetricName: metric,
      Statistic: "Sum",
      Period: period,
      Threshold: 0,
      Dimensions: [{ Name: "FunctionName", Value: { Ref: id(stack.functions[fn].function) } }],
    });
  const failureQueue = (fn: BillingFunctionName) =>
    queue(() => stack.functions[fn].failureQueue, "ApproximateNumberOfMessagesVisible");
  /** Missing data is breaching: no run in two hourly periods alarms. */
  const heartbeat = (fn: BillingFunctionName) => () => ({
    ...lambda(fn, "Invocations", HOUR)(),
    Threshold: 1,
    ComparisonOperator: "LessThanThreshold",
    EvaluationPeriods: 2,
    DatapointsToAlarm: 2,
    TreatMissingData: "breaching",
  });
  const duration = (fn: BillingFunctionName, timeoutSeconds: number) => () => ({
    ...lambda(fn, "Duration")(),
    Statistic: "Maximum",
    Threshold: timeoutSeconds * 800,
  });
  const fixed = (v: ReturnType<typeof custom>) => () => v;
  const HOUR = 3600;

  /** One row per alarm: a new alarm without its row fails the first test. */
  /** A metric-math alarm over billing metrics: its expression and each metric it reads (Sum, 5 min). */
  const math = (expression: string, metrics: Record<string, string>, threshold: number) => () => ({
    Threshold: threshold,
    Metrics: [
      { Id: "expr_1", Expression: expression, ReturnData: true },
      ...Object.entries(metrics).map(([Id, MetricName]) => ({
        Id,
        MetricStat: {
          Metric: {
            Namespace: METRICS_NAMESPACE,
            MetricName,
            Dimensions: Object.entries(METRIC_DIMENSIONS).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: 300,
          Stat: "Sum",
        },
        ReturnData: false,
      })),
    ],
  });
  const handled = "(FILL(st, 0) + FILL(du, 0) + FILL(co, 0) + FILL(dl, 0))";

  const EXPECTED: Record<string, () => Partial<AlarmProps> | Record<string, unknown>> = {
    UsageDlqNotEmptyAlarm: queue(() => stack.usageDlq, "ApproximateNumberOfMessagesVisible"),
    CloseDlqNotEmptyAlarm: queue(() => stack.closeDlq, "ApproximateNumberOfMessagesVisible"),
    UsageQueueAgeAlarm: queue(() => stack.usageQueue, "ApproximateAgeOfOldestMessage", 15 * 60),
    IngestErrorsAlarm: fixed(custom("IngestUnexpectedErrors", "Sum", 300)),
    IngestFunctionErrorsAlarm: lambda("ingestUsage", "Errors"),
    // Dead-lettered events as a percent of the events handled in 5 minutes, above 1 %.
    IngestDeadLetterRateAlarm: math(
      `IF(${handled} > 0, 100 * FILL(dl, 0) / ${handled}, 0)`,
      {
        dl: METRIC.ingestDeadLettered,
        st: METRIC.ingestStored,
        du: METRIC.ingestDuplicates,
        co: METRIC.ingestConflicts,
      },
      1,
    ),
    IngestUsageThrottlesAlarm: lambda("ingestUsage", "Throttles"),
    CloseSchedulerThrottlesAlarm: lambda("closeScheduler", "Throttles"),
    CloseWorkerThrottlesAlarm: lambda("closeWorker", "Throttles"),
    MarketplaceReporterThrottlesAlarm: lambda("marketplaceReporter", "Throttles"),
    DeadLetterThrottlesAlarm: lambda("deadLetter", "Throttles"),
    FinanceApiFunctionThrottlesAlarm: lambda("financeApi", "Throttles"),
    CloseWorkerErrorsAlarm: lambda("closeWorker", "Errors"),
    ScheduleDeadLetterAlarm: queue(() => stack.scheduleDlq, "ApproximateNumberOfMessagesVisible"),
    CloseSchedulerFailedAlarm: queue(
      () => stack.functions.closeScheduler.failureQueue,
      "ApproximateNumberOfMessagesVisible",
    ),
    MarketplaceReporterFailedAlarm: queue(
      () => stack.functions.marketplaceReporter.failureQueue,
      "ApproximateNumberOfMessagesVisible",
    ),
    PeriodNotClosedAlarm: fixed(custom(METRIC.closeAccountsNotClosed, "Maximum", 300)),
    CloseOverdueAlarm: fixed(custom(METRIC.closeAccountsOverdue, "Maximum", HOUR)),
    CloseRequestSuspendedAlarm: fixed(custom(METRIC.closeRequestsSuspended, "Sum", 300)),
    CloseQueueAgeAlarm: () => ({
      ...queue(() => stack.closeQueue, "ApproximateAgeOfOldestMessage")(),
      Threshold: OVERDUE_HOURS * HOUR,
    }),
    MarketplaceRejectedAlarm: fixed(custom(METRIC.marketplaceRejected, "Sum", 300)),
    MarketplacePendingAlarm: fixed(custom(METRIC.marketplaceOldestPendingHours, "Maximum", 300, 20)),
    MarketplaceRejectedEventsAlarm: fixed(custom("MarketplaceRejectedEvents", "Maximum", HOUR)),
    MarketplaceExpiredEventsAlarm: fixed(custom("MarketplaceExpiredEvents", "Maximum", HOUR)),
    MarketplaceOverduePendingAlarm: fixed(custom("MarketplaceOverduePending", "Maximum", HOUR)),
    MarketplaceIncompleteRunAlarm: fixed(custom("MarketplaceIncompleteRuns", "Maximum", HOUR)),
    MarketplaceReporterErrorsAlarm: lambda("marketplaceReporter", "Errors", HOUR),
    // The usage fold (constructs/usage-fold.ts): more than 10 failed runs in 15 minutes.
    UsageFoldErrorsAlarm: () => {
      const fold = stack.node.findAll().find((c) => c instanceof UsageFold) as UsageFold;
      return {
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Statistic: "Sum",
        Period: 900,
        Threshold: 10,
        Dimensions: [{ Name: "FunctionName", Value: { Ref: id(fold.fold.function) } }],
      };
    },
    // Every function's failure queue (the two scheduled ones above).
    IngestUsageFailedAlarm: failureQueue("ingestUsage"),
    CloseWorkerFailedAlarm: failureQueue("closeWorker"),
    DeadLetterFailedAlarm: failureQueue("deadLetter"),
    FinanceApiFunctionFailedAlarm: failureQueue("financeApi"),
    // Issue 25: the finance API, DynamoDB throttling, schedule heartbeats, durations near the timeout.
    FinanceApi5xxAlarm: () => ({
      Namespace: "AWS/ApiGateway",
      MetricName: "5xx",
      Statistic: "Sum",
      Period: 300,
      Threshold: 0,
      Dimensions: [{ Name: "ApiId", Value: { Ref: id(stack.financeApi.api) } }],
    }),
    FinanceApiErrorsAlarm: lambda("financeApi", "Errors"),
    TableThrottledAlarm: () => ({
      Threshold: 0,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Metrics: [
        expect.objectContaining({ Expression: "reads + writes", ReturnData: true }),
        ...["ReadThrottleEvents", "WriteThrottleEvents"].map((MetricName) =>
          expect.objectContaining({
            MetricStat: {
              Metric: {
                Namespace: "AWS/DynamoDB",
                MetricName,
                Dimensions: [{ Name: "TableName", Value: { Ref: id(stack.table) } }],
              },
              Period: 300,
              Stat: "Sum",
            },
            ReturnData: false,
          }),
        ),
      ],
    }),
    CloseSchedulerHeartbeatAlarm: heartbeat("closeScheduler"),
    MarketplaceReporterHeartbeatAlarm: heartbeat("marketplaceReporter"),
    IngestUsageDurationAlarm: duration("ingestUsage", 30),
    CloseSchedulerDurationAlarm: duration("closeScheduler", 15 * 60),
    CloseWorkerDurationAlarm: duration("closeWorker", 5 * 60),
    MarketplaceReporterDurationAlarm: duration("marketplaceReporter", 5 * 60),
    DeadLetterDurationAlarm: duration("deadLetter", 5 * 60),
    FinanceApiFunctionDurationAlarm: duration("financeApi", 29),
  };
  /**
   * The alarms whose return to OK is sent too: states that end by themselves (a queue drained or
   * caught up, throttling over, the schedule running again, durations back down). The others alarm
   * on one-off events, whose OK at the next quiet period would read as "resolved".
   */
  const OK_HELPS = new Set([
    "UsageDlqNotEmptyAlarm",
    "CloseDlqNotEmptyAlarm",
    "UsageQueueAgeAlarm",
    "CloseQueueAgeAlarm",
    "MarketplacePendingAlarm",
    "FinanceApi5xxAlarm",
    "TableThrottledAlarm",
    ...Object.keys(EXPECTED).filter((k) => /(Throttles|Failed|Heartbeat|Duration)Alarm$/.test(k)),
  ]);

  it("has exactly the alarms of the table", () => {
    expect([...alarms.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.keys(EXPECTED))(
    "%s: its metric and threshold; it notifies the alarm topic in ALARM (and in OK where that helps)",
    (name) => {
      const props = alarms.get(name);
      expect(props).toMatchObject({
        ComparisonOperator: "GreaterThanThreshold",
        EvaluationPeriods: 1,
        TreatMissingData: "notBreaching",
        ...EXPECTED[name]!(),
      });
      expect(props?.AlarmActions).toEqual([topic]);
      expect(props?.OKActions).toEqual(OK_HELPS.has(name) ? [topic] : undefined);
    },
  );

  it("covers every alarm the issue asks for", () => {
    const asked: Record<string, string[]> = {
      "DLQ not empty": ["UsageDlqNotEmptyAlarm", "CloseDlqNotEmptyAlarm"],
      "age of the oldest usage message": ["UsageQueueAgeAlarm"],
      "ingest errors": ["IngestErrorsAlarm", "IngestFunctionErrorsAlarm"],
      "the dead-letter rate (issue 22)": ["IngestDeadLetterRateAlarm"],
      "any failure of ours (issue 22)": ["IngestErrorsAlarm"],
      throttles: Object.values(stack.functions).map((f) => `${f.node.id}ThrottlesAlarm`),
      "a period not closed by N hours after its end": [
        "CloseOverdueAlarm",
        "CloseQueueAgeAlarm",
        "PeriodNotClosedAlarm",
      ],
      "marketplace pending past 20 hours": ["MarketplacePendingAlarm", "MarketplaceOverduePendingAlarm"],
      "marketplace rejected": ["MarketplaceRejectedAlarm", "MarketplaceRejectedEventsAlarm"],
      "a close request for an account with no configuration": ["CloseRequestSuspendedAlarm"],
      "scheduler failures": [
        "ScheduleDeadLetterAlarm",
        "CloseSchedulerFailedAlarm",
        "MarketplaceReporterFailedAlarm",
      ],
      // Issue 25 item 3.
      "finance API 5xx and errors": ["FinanceApi5xxAlarm", "FinanceApiErrorsAlarm"],
      "DynamoDB throttled requests": ["TableThrottledAlarm"],
      "a heartbeat per schedule": ["CloseSchedulerHeartbeatAlarm", "MarketplaceReporterHeartbeatAlarm"],
      "duration above 80 % of the timeout, every function": Object.values(stack.functions).map(
        (f) => `${f.node.id}DurationAlarm`,
      ),
      "every failure queue": Object.values(stack.functions).map((f) => `${f.node.id}FailedAlarm`),
    };
    for (const [what, ids] of Object.entries(asked))
      for (const a of ids) expect(alarms.has(a), `${what}: ${a}`).toBe(true);
  });

  it("gives the close scheduler the overdue hours the alarms use", () => {
    const fn = Template.fromStack(stack).toJSON().Resources[id(stack.functions.closeScheduler.function)];
    expect(fn.Properties.Environment.Variables).toMatchObject({ CLOSE_OVERDUE_HOURS: String(OVERDUE_HOURS) });
    expect(
      () =>
        new BillingStack(new App({ outdir }), "Bad", {
          marketplaceApiUrl: "https://x",
          closeOverdueHours: 0,
        }),
    ).toThrow(/closeOverdueHours/);
  });

  it("gives the ingest function its own timeout, from which the take-over cut-off is derived (issue 22)", () => {
    const fn = Template.fromStack(stack).toJSON().Resources[id(stack.functions.ingestUsage.function)];
    expect(fn.Properties.Timeout).toBeGreaterThan(0);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      INGEST_TIMEOUT_SECONDS: String(fn.Properties.Timeout),
    });
    expect(fn.Properties.Environment.Variables.ATTEMPT_CUTOFF_SECONDS).toBeUndefined();
    // The cut-off (4 timeouts) stays under the usage queue's visibility timeout: a crashed batch's
    // re-delivery finds its claims free to take over.
    const queue = Template.fromStack(stack).toJSON().Resources[id(stack.usageQueue)];
    expect(attemptCutoffMsFor(fn.Properties.Timeout * 1000)).toBeLessThanOrEqual(
      queue.Properties.VisibilityTimeout * 1000,
    );
  });

  it("the close-overdue alarm watches exactly what the scheduler emits (namespace, name, dimensions)", async () => {
    const run = await captureOutput(async () =>
      publishCloseSchedule(createMetrics(), { enqueued: 7, overdue: 3 }),
    );
    const [emf] = emfDocuments(run.stdout);
    const directive = emf?._aws.CloudWatchMetrics[0];
    expect(directive?.Metrics.map((m) => m.Name).sort()).toEqual(
      [METRIC.closeAccountsEnqueued, METRIC.closeAccountsOverdue].sort(),
    );
    expect([emf?.[METRIC.closeAccountsEnqueued], emf?.[METRIC.closeAccountsOverdue]]).toEqual([7, 3]);
    expect(alarms.get("CloseOverdueAlarm")).toMatchObject({
      Namespace: directive?.Namespace,
      MetricName: METRIC.closeAccountsOverdue,
      Dimensions: (directive?.Dimensions[0] ?? []).map((Name) => ({ Name, Value: emf?.[Name] })),
    });
  });
});

/**
 * The billing stack: one KMS key, the single DynamoDB table, the usage queue and the close queue with their DLQs, the exports
 * bucket, the five billing functions with least-privilege grants, their schedules, and the alarms
 * operators act on.
 */
import { fileURLToPath } from "node:url";
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as kms from "aws-cdk-lib/aws-kms";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import {
  INGEST_UNEXPECTED_ERRORS_METRIC,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
} from "../shared/runtime/observability.js";
import { BillingFunction } from "./constructs/billing-function.js";

export type BillingFunctionName =
  | "ingestUsage"
  | "closeScheduler"
  | "closeWorker"
  | "marketplaceReporter"
  | "deadLetter";

const functionsDir = (name: string) =>
  fileURLToPath(new URL(`../functions/${name}/handler.ts`, import.meta.url));

/** The real handler files; tests may replace them with a fixture. */
export const DEFAULT_ENTRIES: Readonly<Record<BillingFunctionName, string>> = {
  ingestUsage: functionsDir("ingest-usage"),
  closeScheduler: functionsDir("close-scheduler"),
  closeWorker: functionsDir("close-worker"),
  marketplaceReporter: functionsDir("marketplace-reporter"),
  deadLetter: functionsDir("dead-letter"),
};

export interface BillingStackProps extends StackProps {
  /** Base URL of the marketplace metering API the hourly reporter calls. */
  readonly marketplaceApiUrl: string;
  /** Entry files per function. @default DEFAULT_ENTRIES (functions/<name>/handler.ts) */
  readonly entries?: Partial<Record<BillingFunctionName, string>>;
}

/** Timeout of the ingest function; the usage queue's visibility timeout is derived from it. */
const INGEST_TIMEOUT = Duration.seconds(30);
const INGEST_BATCHING_WINDOW = Duration.seconds(5);
/**
 * Messages per ingest invocation (docs/data-model.md): an invocation commits its events' counters
 * once per (account, period, counter), so large batches pre-aggregate; at 100 messages a
 * 12-account mix costs ≈ 2 write units per event, at 1,000 ≈ 1.4 (docs/performance.md). Lambda
 * also caps an invocation's payload at 6 MB, which bounds the work of batch bodies.
 */
export const INGEST_BATCH_SIZE = 1000;

/** Timeout of one close-worker invocation (a batch of CLOSE_BATCH_SIZE accounts closed side by side). */
const CLOSE_WORKER_TIMEOUT = Duration.minutes(5);
/** Close requests per worker invocation, closed concurrently (decisions D15). */
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
export class BillingStack extends Stack {
  readonly key: kms.Key;
  readonly table: dynamodb.Table;
  readonly usageQueue: sqs.Queue;
  readonly usageDlq: sqs.Queue;
  /** One message per (account, period) to close (decisions D15), and its DLQ. */
  readonly closeQueue: sqs.Queue;
  readonly closeDlq: sqs.Queue;
  /** Whole bodies of dead letters too large for their table item (docs/decisions.md D12). */
  readonly exportsBucket: s3.Bucket;
  readonly functions: Readonly<Record<BillingFunctionName, BillingFunction>>;

  constructor(scope: Construct, id: string, props: BillingStackProps) {
    super(scope, id, props);
    const entries = { ...DEFAULT_ENTRIES, ...props.entries };

    this.key = new kms.Key(this, "BillingKey", {
      description: "Encrypts the billing table, queues and Lambda environment variables",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.table = new dynamodb.Table(this, "BillingTable", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.usageDlq = new sqs.Queue(this, "UsageDeadLetterQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      // Longer than the source queue's: a redriven message keeps its original enqueue time.
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.usageQueue = new sqs.Queue(this, "UsageQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      // AWS guidance: at least 6x the function timeout, plus the batching window.
      visibilityTimeout: Duration.seconds(
        6 * INGEST_TIMEOUT.toSeconds() + INGEST_BATCHING_WINDOW.toSeconds(),
      ),
      deadLetterQueue: { queue: this.usageDlq, maxReceiveCount: 5 },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.closeDlq = new sqs.Queue(this, "CloseDeadLetterQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.closeQueue = new sqs.Queue(this, "CloseQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: Duration.seconds(6 * CLOSE_WORKER_TIMEOUT.toSeconds()),
      deadLetterQueue: { queue: this.closeDlq, maxReceiveCount: CLOSE_MAX_RECEIVE_COUNT },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.exportsBucket = new s3.Bucket(this, "ExportsBucket", {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const exportsEnvironment = { EXPORTS_BUCKET: this.exportsBucket.bucketName };

    const common = {
      encryptionKey: this.key,
      environment: {
        BILLING_TABLE: this.table.tableName,
        USAGE_QUEUE_URL: this.usageQueue.queueUrl,
        USAGE_DLQ_URL: this.usageDlq.queueUrl,
      },
    };

    const ingestUsage = new BillingFunction(this, "IngestUsage", {
      ...common,
      environment: { ...common.environment, ...exportsEnvironment },
      entry: entries.ingestUsage,
      description: "Rates CloudEvents usage messages from the usage queue into the billing table",
      timeout: INGEST_TIMEOUT,
    });
    const closeEnvironment = { CLOSE_QUEUE_URL: this.closeQueue.queueUrl, CLOSE_GRACE_HOURS: "2" };
    const closeScheduler = new BillingFunction(this, "CloseScheduler", {
      ...common,
      environment: { ...common.environment, ...closeEnvironment },
      entry: entries.closeScheduler,
      description:
        "Hourly: enqueues one close request per account whose period ended in its own time zone plus the grace",
      timeout: Duration.minutes(15),
    });
    const closeWorker = new BillingFunction(this, "CloseWorker", {
      ...common,
      entry: entries.closeWorker,
      description: "Closes one account's period per close-queue message (atomic per account-period)",
      timeout: CLOSE_WORKER_TIMEOUT,
      memorySize: 1024,
    });
    const marketplaceReporter = new BillingFunction(this, "MarketplaceReporter", {
      ...common,
      environment: { ...common.environment, MARKETPLACE_API_URL: props.marketplaceApiUrl },
      entry: entries.marketplaceReporter,
      description: "Reports rated usage to the marketplace metering API every hour",
      timeout: Duration.minutes(5),
    });
    const deadLetter = new BillingFunction(this, "DeadLetter", {
      ...common,
      environment: { ...common.environment, ...exportsEnvironment },
      entry: entries.deadLetter,
      description: "Operator tool: lists and redrives dead-lettered usage messages",
      timeout: Duration.minutes(5),
    });
    this.functions = { ingestUsage, closeScheduler, closeWorker, marketplaceReporter, deadLetter };

    // Least privilege: data-plane item access on the one table (no DDL), and only the queue actions each needs.
    // The table grants also cover the KMS key the table is encrypted with.
    for (const f of [ingestUsage, closeScheduler, closeWorker, marketplaceReporter, deadLetter]) {
      this.table.grantReadWriteData(f.function);
    }
    // The event source grants ingest ReceiveMessage/DeleteMessage/ChangeMessageVisibility on the usage queue.
    ingestUsage.function.addEventSource(
      new SqsEventSource(this.usageQueue, {
        batchSize: INGEST_BATCH_SIZE,
        maxBatchingWindow: INGEST_BATCHING_WINDOW,
        reportBatchItemFailures: true,
      }),
    );
    closeWorker.function.addEventSource(
      new SqsEventSource(this.closeQueue, {
        batchSize: CLOSE_BATCH_SIZE,
        maxConcurrency: CLOSE_MAX_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );
    this.closeQueue.grantSendMessages(closeScheduler.function);
    this.usageQueue.grantSendMessages(deadLetter.function);
    // Ingest writes a large dead letter's body; the dead-letter function reads it to redrive.
    this.exportsBucket.grantPut(ingestUsage.function);
    this.exportsBucket.grantRead(deadLetter.function);
    this.usageDlq.grantConsumeMessages(deadLetter.function);

    // Schedules (EventBridge Scheduler). The close scheduler runs hourly: each zone's accounts are
    // enqueued in the first run after their own period end plus the grace (G3, decisions D15).
    new scheduler.Schedule(this, "CloseSchedulerSchedule", {
      description:
        "Enqueue the closes of the accounts whose period ended in their own time zone (plus the grace)",
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
      target: new LambdaInvoke(closeScheduler.function, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
      }),
    });
    new scheduler.Schedule(this, "MarketplaceReporterSchedule", {
      description: "Report marketplace usage every hour",
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
      target: new LambdaInvoke(marketplaceReporter.function, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
      }),
    });

    // Alarms.
    new cloudwatch.Alarm(this, "UsageDlqNotEmptyAlarm", {
      alarmDescription: "Usage messages reached the dead-letter queue after 5 receives",
      metric: this.usageDlq.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, "CloseDlqNotEmptyAlarm", {
      alarmDescription: `Close requests reached the close DLQ after ${CLOSE_MAX_RECEIVE_COUNT} receives (an account-period not closed)`,
      metric: this.closeDlq.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Emitted by the ingest handler (CloudWatch EMF) for each message that failed unexpectedly.
    new cloudwatch.Alarm(this, "IngestErrorsAlarm", {
      alarmDescription:
        "Usage messages failed to ingest with an unexpected error (returned to the queue; see the ingest log)",
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: INGEST_UNEXPECTED_ERRORS_METRIC,
        dimensionsMap: { ...METRIC_DIMENSIONS },
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, "IngestFunctionErrorsAlarm", {
      alarmDescription:
        "The ingest function failed (a whole batch failed, or it could not start): whole batch returned to the queue",
      metric: ingestUsage.function.metricErrors({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const [id, f] of [
      ["CloseSchedulerFailedAlarm", closeScheduler],
      ["MarketplaceReporterFailedAlarm", marketplaceReporter],
    ] as const) {
      new cloudwatch.Alarm(this, id, {
        alarmDescription: `A scheduled ${f.node.id} run failed after its retries (see its failure queue)`,
        metric: f.failureQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    new CfnOutput(this, "BillingTableName", { value: this.table.tableName });
    new CfnOutput(this, "UsageQueueUrl", { value: this.usageQueue.queueUrl });
    new CfnOutput(this, "UsageDeadLetterQueueUrl", { value: this.usageDlq.queueUrl });
    new CfnOutput(this, "ExportsBucketName", { value: this.exportsBucket.bucketName });
    new CfnOutput(this, "CloseQueueUrl", { value: this.closeQueue.queueUrl });
    new CfnOutput(this, "CloseDeadLetterQueueUrl", { value: this.closeDlq.queueUrl });
    new CfnOutput(this, "DeadLetterFunctionName", { value: deadLetter.function.functionName });
  }
}

/**
 * The billing stack: one KMS key, the single DynamoDB table, the usage queue and its DLQ, the exports
 * bucket, the four billing functions with least-privilege grants, their schedules, and the alarms
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
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import {
  INGEST_UNEXPECTED_ERRORS_METRIC,
  MARKETPLACE_INCOMPLETE_RUNS_METRIC,
  MARKETPLACE_OVERDUE_PENDING_METRIC,
  MARKETPLACE_REJECTED_EVENTS_METRIC,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
} from "../shared/runtime/observability.js";
import { BillingFunction } from "./constructs/billing-function.js";

export type BillingFunctionName = "ingestUsage" | "closePeriod" | "marketplaceReporter" | "deadLetter";

const functionsDir = (name: string) =>
  fileURLToPath(new URL(`../functions/${name}/handler.ts`, import.meta.url));

/** The real handler files; tests may replace them with a fixture. */
export const DEFAULT_ENTRIES: Readonly<Record<BillingFunctionName, string>> = {
  ingestUsage: functionsDir("ingest-usage"),
  closePeriod: functionsDir("close-period"),
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

export class BillingStack extends Stack {
  readonly key: kms.Key;
  readonly table: dynamodb.Table;
  readonly usageQueue: sqs.Queue;
  readonly usageDlq: sqs.Queue;
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
    const closePeriod = new BillingFunction(this, "ClosePeriod", {
      ...common,
      entry: entries.closePeriod,
      description: "Closes a monthly billing period for every account (scheduled, or by hand)",
      timeout: Duration.minutes(15),
      memorySize: 1024,
    });
    // The publisher's Entra ID application for the Metering API (D19): JSON
    // { tenantId, clientId, clientSecret }, filled in by the operator after deployment.
    const marketplaceCredentials = new secretsmanager.Secret(this, "MarketplaceCredentials", {
      description:
        "Entra ID application of the Azure Marketplace publisher: JSON { tenantId, clientId, clientSecret }",
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const marketplaceReporter = new BillingFunction(this, "MarketplaceReporter", {
      ...common,
      environment: {
        ...common.environment,
        MARKETPLACE_API_URL: props.marketplaceApiUrl,
        MARKETPLACE_CREDENTIALS_SECRET_ARN: marketplaceCredentials.secretArn,
      },
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
    this.functions = { ingestUsage, closePeriod, marketplaceReporter, deadLetter };

    // Least privilege: data-plane item access on the one table (no DDL), and only the queue actions each needs.
    // The table grants also cover the KMS key the table is encrypted with.
    for (const f of [ingestUsage, closePeriod, marketplaceReporter, deadLetter]) {
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
    this.usageQueue.grantSendMessages(deadLetter.function);
    marketplaceCredentials.grantRead(marketplaceReporter.function);
    // Ingest writes a large dead letter's body; the dead-letter function reads it to redrive.
    this.exportsBucket.grantPut(ingestUsage.function);
    this.exportsBucket.grantRead(deadLetter.function);
    this.usageDlq.grantConsumeMessages(deadLetter.function);

    // Schedules (EventBridge Scheduler). An empty payload makes close-period close the previous month.
    new scheduler.Schedule(this, "ClosePeriodSchedule", {
      description:
        "Close the previous billing period at 13:00 UTC on day 1, once the month has ended in every time zone (UTC−12 ends it at 12:00 UTC)",
      schedule: scheduler.ScheduleExpression.cron({
        minute: "0",
        hour: "13",
        day: "1",
        month: "*",
        year: "*",
      }),
      target: new LambdaInvoke(closePeriod.function, { input: scheduler.ScheduleTargetInput.fromObject({}) }),
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
    // Marketplace reporting (D20), emitted by the reporter every run (EMF): any refusal, an hour
    // still pending 20 hours after it ended, a run that left work undone (a call without answer, an
    // account not processed, batches left for the time budget), or a run that failed outright.
    for (const [id, metricName, description] of [
      [
        "MarketplaceRejectedEventsAlarm",
        MARKETPLACE_REJECTED_EVENTS_METRIC,
        "The Marketplace refused usage events (Expired or rejected): see the reporter log and billing marketplace reconcile",
      ],
      [
        "MarketplaceOverduePendingAlarm",
        MARKETPLACE_OVERDUE_PENDING_METRIC,
        "Marketplace usage events are still pending 20 hours after their hour ended (4 hours before Microsoft's 24-hour limit)",
      ],
      [
        "MarketplaceIncompleteRunAlarm",
        MARKETPLACE_INCOMPLETE_RUNS_METRIC,
        "A marketplace reporter run left work undone (a call without answer, an account not processed, or its time budget ran out)",
      ],
    ] as const) {
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName,
          dimensionsMap: { ...METRIC_DIMENSIONS },
          period: Duration.hours(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    new cloudwatch.Alarm(this, "MarketplaceReporterErrorsAlarm", {
      alarmDescription:
        "The marketplace reporter function failed (an account could not be processed, or it could not start)",
      metric: marketplaceReporter.function.metricErrors({
        period: Duration.hours(1),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const [id, f] of [
      ["ClosePeriodFailedAlarm", closePeriod],
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
    new CfnOutput(this, "ClosePeriodFunctionName", { value: closePeriod.function.functionName });
    new CfnOutput(this, "DeadLetterFunctionName", { value: deadLetter.function.functionName });
    new CfnOutput(this, "MarketplaceCredentialsSecretArn", { value: marketplaceCredentials.secretArn });
  }
}

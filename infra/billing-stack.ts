/**
 * The billing stack: one KMS key, the single DynamoDB table, the usage and close queues with
 * their DLQs, the exports bucket, the five billing functions with least-privilege grants, their schedules, and the alarms
 * operators act on (constructs/monitoring.ts: every alarm notifies the alarm topic).
 *
 * Adding a function: a `BillingFunction` (defaults: arm64, nodejs22.x, tracing, encrypted env and
 * logs, failure queue), its rows in `TABLE_ACCESS` (exact DynamoDB actions per key prefix), the
 * grant helpers of constructs/grants.ts for queues and objects, and a row in the exact-IAM test.
 */
import { fileURLToPath } from "node:url";
import {
  Aspects,
  Aws,
  type CfnElement,
  CfnOutput,
  CfnParameter,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
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
import {
  grantObjectsGet,
  grantObjectsPut,
  grantQueueConsume,
  grantQueueSend,
  grantTableItems,
  type TableAccess,
} from "./constructs/grants.js";
import { AlarmsNotify, BillingMonitoring } from "./constructs/monitoring.js";

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

/**
 * Item access per function: exact actions on the partition-key prefixes each one touches
 * (docs/data-model.md; `dynamodb:LeadingKeys`). TransactWriteItems is authorized per item as
 * PutItem/UpdateItem/DeleteItem/ConditionCheckItem; a PartiQL INSERT as PartiQLInsert.
 */
export const TABLE_ACCESS: Readonly<Record<BillingFunctionName, readonly TableAccess[]>> = {
  // Claims (PartiQL INSERT, BatchGet, take-over), attempt commits, counters, pages, usage and late
  // markers, conflicts and their per-period index (D16), close records (read), configuration (read),
  // dead letters with their per-account index (transactions, D16).
  ingestUsage: [
    { actions: ["dynamodb:PartiQLInsert"], leadingKeys: ["ID#*", "CONFLICTS#*", "ACCT#*"] },
    { actions: ["dynamodb:BatchGetItem"], leadingKeys: ["ID#*"] },
    { actions: ["dynamodb:UpdateItem"], leadingKeys: ["ID#*", "CTR#*", "ACCT#*"] },
    { actions: ["dynamodb:GetItem"], leadingKeys: ["COMMIT#*", "ACCT#*", "CFG#*", "DEADLETTER"] },
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*"] },
    { actions: ["dynamodb:PutItem"], leadingKeys: ["COMMIT#*", "EVT#*", "ACCT#*", "DEADLETTER", "DLA#*"] },
    { actions: ["dynamodb:DeleteItem"], leadingKeys: ["DLA#*"] },
  ],
  // Lists the accounts of the due zones; keeps its per-zone cursor (D15).
  closeScheduler: [
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*"] },
    { actions: ["dynamodb:GetItem", "dynamodb:PutItem"], leadingKeys: ["SCHED#*"] },
  ],
  // Reads one account's period (counters, pages, snapshot, conflicts and letters indexes); writes only
  // under its claim: ACCT# (claim, lines, late markers, close record), REPORT# lists, SNAP# snapshots.
  closeWorker: [
    {
      actions: ["dynamodb:Query"],
      leadingKeys: ["CFG#*", "ACCT#*", "CTR#*", "EVT#*", "DLA#*", "CONFLICTS#*", "REPORT#*", "SNAP#*"],
    },
    {
      actions: [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
      ],
      leadingKeys: ["ACCT#*", "REPORT#*", "SNAP#*"],
    },
    { actions: ["dynamodb:GetItem"], leadingKeys: ["CFG#*"] },
    // The period index (D25): its entry put with the close record, then the exported objects noted on it.
    {
      actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
      leadingKeys: ["PERIOD#*"],
    },
  ],
  // Reads configuration and raw pages; writes only its own MKT# records and watermarks.
  marketplaceReporter: [
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*", "EVT#*", "MKT#*"] },
    { actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], leadingKeys: ["MKT#*"] },
  ],
  // Lists and removes dead letters (with their per-account index entry, one transaction).
  deadLetter: [
    { actions: ["dynamodb:Query", "dynamodb:GetItem"], leadingKeys: ["DEADLETTER"] },
    { actions: ["dynamodb:DeleteItem"], leadingKeys: ["DEADLETTER", "DLA#*"] },
  ],
};

/** `dev`: short log retention, everything deletable. `prod`: a year of logs, retained, protected. */
export type Stage = "dev" | "prod";
export const STAGE_SETTINGS: Readonly<
  Record<
    Stage,
    {
      logRetention: logs.RetentionDays;
      removalPolicy: RemovalPolicy;
      deletionProtection: boolean;
      terminationProtection: boolean;
    }
  >
> = {
  dev: {
    logRetention: logs.RetentionDays.TWO_WEEKS,
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    terminationProtection: false,
  },
  prod: {
    logRetention: logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    terminationProtection: true,
  },
};

/** Where dead letters' whole bodies go in the exports bucket (shared/app/dead-letters.ts). */
export const DEAD_LETTER_BODIES_PREFIX = "dead-letters/";
/** Where each close puts its invoice lines and report by period (shared/core/period-exports.ts, D25). */
export const PERIOD_EXPORT_PREFIXES = ["invoice-lines/", "close-reports/"] as const;

/** Most ingest invocations at once: bounds the write rate on the table and its hottest keys. */
export const INGEST_MAX_CONCURRENCY = 20;

export interface BillingStackProps extends StackProps {
  /** @default "prod" (retained, protected): a dev stack says so (`-c stage=dev`). */
  readonly stage?: Stage;
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
  /** Scheduled invocations that failed to be delivered after their retries. */
  readonly scheduleDlq: sqs.Queue;
  readonly monitoring: BillingMonitoring;

  constructor(scope: Construct, id: string, props: BillingStackProps) {
    const settings = STAGE_SETTINGS[props.stage ?? "prod"];
    super(scope, id, { terminationProtection: settings.terminationProtection, ...props });
    const entries = { ...DEFAULT_ENTRIES, ...props.entries };
    const removalPolicy = settings.removalPolicy;
    const alarmEmail = new CfnParameter(this, "AlarmEmail", {
      type: "String",
      description: "E-mail address the alarm topic notifies (confirm the subscription mail)",
      allowedPattern: "^[^@\\s]+@[^@\\s]+$",
      constraintDescription: "an e-mail address",
    });

    this.key = new kms.Key(this, "BillingKey", {
      description:
        "Encrypts the billing table, queues, bucket, alarm topic, logs and Lambda environment variables",
      enableKeyRotation: true,
      removalPolicy,
    });
    // CloudWatch Logs encrypts the functions' log groups of this account and region with the key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources: ["*"],
        conditions: {
          ArnLike: {
            "kms:EncryptionContext:aws:logs:arn": `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );

    this.table = new dynamodb.Table(this, "BillingTable", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      deletionProtection: settings.deletionProtection,
      removalPolicy,
    });

    this.usageDlq = new sqs.Queue(this, "UsageDeadLetterQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      // Longer than the source queue's: a redriven message keeps its original enqueue time.
      retentionPeriod: Duration.days(14),
      removalPolicy,
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
      removalPolicy,
    });

    this.closeDlq = new sqs.Queue(this, "CloseDeadLetterQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    this.closeQueue = new sqs.Queue(this, "CloseQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: Duration.seconds(6 * CLOSE_WORKER_TIMEOUT.toSeconds()),
      deadLetterQueue: { queue: this.closeDlq, maxReceiveCount: CLOSE_MAX_RECEIVE_COUNT },
      removalPolicy,
    });

    this.exportsBucket = new s3.Bucket(this, "ExportsBucket", {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      // The close worker may not abort a multipart upload (PutObject only): an interrupted one's parts go.
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy,
    });
    const exportsEnvironment = { EXPORTS_BUCKET: this.exportsBucket.bucketName };

    const common = {
      encryptionKey: this.key,
      encryptLogs: true,
      logRetention: settings.logRetention,
      removalPolicy,
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
      environment: { ...common.environment, ...exportsEnvironment },
      entry: entries.closeWorker,
      description: "Closes one account's period per close-queue message (atomic per account-period)",
      timeout: CLOSE_WORKER_TIMEOUT,
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
      // One run at a time: two runs would send the same hours twice (the second gets Duplicate).
      reservedConcurrency: 1,
    });
    const deadLetter = new BillingFunction(this, "DeadLetter", {
      ...common,
      environment: { ...common.environment, ...exportsEnvironment },
      entry: entries.deadLetter,
      description: "Operator tool: lists and redrives dead-lettered usage messages",
      timeout: Duration.minutes(5),
    });
    this.functions = { ingestUsage, closeScheduler, closeWorker, marketplaceReporter, deadLetter };

    // Least privilege (constructs/grants.ts): exact item actions per key prefix, KMS only through the service.
    for (const [name, access] of Object.entries(TABLE_ACCESS) as [BillingFunctionName, TableAccess[]][]) {
      grantTableItems(this.functions[name].function, this.table, this.key, access);
    }
    // The event source polls with the function's role: consume on the usage queue only.
    ingestUsage.function.addEventSourceMapping("UsageQueueSource", {
      eventSourceArn: this.usageQueue.queueArn,
      batchSize: INGEST_BATCH_SIZE,
      maxBatchingWindow: INGEST_BATCHING_WINDOW,
      reportBatchItemFailures: true,
      maxConcurrency: INGEST_MAX_CONCURRENCY,
    });
    grantQueueConsume(ingestUsage.function, this.usageQueue, this.key);
    // Redrive: send to the usage queue (reads its size limit), consume the DLQ.
    grantQueueSend(deadLetter.function, this.usageQueue, this.key, { readsAttributes: true });
    grantQueueConsume(deadLetter.function, this.usageDlq, this.key);
    marketplaceCredentials.grantRead(marketplaceReporter.function);
    // Close fan-out (D15): the scheduler only sends close requests, the worker consumes them.
    closeWorker.function.addEventSourceMapping("CloseQueueSource", {
      eventSourceArn: this.closeQueue.queueArn,
      batchSize: CLOSE_BATCH_SIZE,
      reportBatchItemFailures: true,
      maxConcurrency: CLOSE_MAX_CONCURRENCY,
    });
    grantQueueConsume(closeWorker.function, this.closeQueue, this.key);
    grantQueueSend(closeScheduler.function, this.closeQueue, this.key);
    // Ingest writes a large dead letter's body; the dead-letter function reads it to redrive.
    grantObjectsPut(ingestUsage.function, this.exportsBucket, this.key, DEAD_LETTER_BODIES_PREFIX);
    grantObjectsGet(deadLetter.function, this.exportsBucket, this.key, DEAD_LETTER_BODIES_PREFIX);
    // Each close writes its account's objects by period (D25), multipart past 5 MB (KMS Decrypt too).
    for (const prefix of PERIOD_EXPORT_PREFIXES)
      grantObjectsPut(closeWorker.function, this.exportsBucket, this.key, prefix, { multipart: true });

    // Schedules: retried, then dead-lettered to one encrypted queue (alarmed), each with its own role.
    this.scheduleDlq = new sqs.Queue(this, "ScheduleDeadLetterQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    const scheduleTarget = (name: string, fn: BillingFunction) => {
      const role = new iam.Role(this, `${name}ScheduleRole`, {
        assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
          conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
        }),
        description: `EventBridge Scheduler invokes ${name}`,
      });
      grantQueueSend(role, this.scheduleDlq, this.key);
      return new LambdaInvoke(fn.function, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        role,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: this.scheduleDlq,
      });
    };

    // Schedules (EventBridge Scheduler). The close scheduler runs hourly: each zone's accounts are
    // enqueued in the first run after their own period end plus the grace (G3, decisions D15).
    new scheduler.Schedule(this, "CloseSchedulerSchedule", {
      description:
        "Enqueue the closes of the accounts whose period ended in their own time zone (plus the grace)",
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
      target: scheduleTarget("CloseScheduler", closeScheduler),
    });
    new scheduler.Schedule(this, "MarketplaceReporterSchedule", {
      description: "Report marketplace usage every hour",
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
      target: scheduleTarget("MarketplaceReporter", marketplaceReporter),
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

    this.monitoring = new BillingMonitoring(this, "Monitoring", {
      key: this.key,
      alarmEmail: alarmEmail.valueAsString,
      usageQueue: this.usageQueue,
      scheduleDlq: this.scheduleDlq,
      functions: this.functions,
    });
    // Every alarm of the stack notifies the topic, also those added after this line.
    Aspects.of(this).add(new AlarmsNotify(this.monitoring.topic));

    // cdk-nag findings answered otherwise, each on its resource with its reason (test/infra/nag.test.ts).
    Validations.of(this.exportsBucket).acknowledge({
      id: "AwsSolutions::AwsSolutions-S1",
      reason:
        "Only the stack's function roles can reach the bucket (TLS only, public access blocked); object access is audited with CloudTrail data events, not server access logs",
    });
    for (const q of [this.usageDlq, this.closeDlq, this.scheduleDlq])
      Validations.of(q).acknowledge(
        {
          id: "Serverless::Serverless-SQSRedrivePolicy",
          reason: "A dead-letter queue: terminal by design, its depth is alarmed and operators redrive it",
        },
        ...(q === this.scheduleDlq
          ? [
              {
                id: "AwsSolutions::AwsSolutions-SQS3",
                reason: "This queue is itself the dead-letter queue of the EventBridge Scheduler schedules",
              },
            ]
          : []),
      );
    for (const f of [ingestUsage, deadLetter])
      Validations.of(f.function.role!).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.exportsBucket.node.defaultChild as CfnElement)}.Arn>/${DEAD_LETTER_BODIES_PREFIX}*]`,
        reason: "Dead letters' whole bodies are objects named by their SHA-256 under this one prefix",
      });
    for (const prefix of PERIOD_EXPORT_PREFIXES)
      Validations.of(closeWorker.function.role!).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.exportsBucket.node.defaultChild as CfnElement)}.Arn>/${prefix}*]`,
        reason: "Each close writes its account's objects under period=YYYY-MM/account=<id>/ of this prefix",
      });
    Validations.of(ingestUsage.function).acknowledge({
      id: "Serverless::Serverless-LambdaEventSourceMappingDestination",
      reason:
        "An SQS event source has no on-failure destination: failed messages go to the usage DLQ by the queue's redrive policy (5 receives)",
    });
    Validations.of(closeWorker.function).acknowledge({
      id: "Serverless::Serverless-LambdaEventSourceMappingDestination",
      reason:
        "An SQS event source has no on-failure destination: failed close requests go to the close DLQ by the queue's redrive policy (alarmed)",
    });
    Validations.of(marketplaceCredentials).acknowledge({
      id: "AwsSolutions::AwsSolutions-SMG4",
      reason:
        "The Entra ID client secret is issued and rotated in Microsoft Entra ID (its expiry is set there); the runbook says how to update this secret, which the reporter re-reads after a 401",
    });
    for (const [name, f] of [
      ["CloseScheduler", closeScheduler],
      ["MarketplaceReporter", marketplaceReporter],
    ] as const)
      Validations.of(this.node.findChild(`${name}ScheduleRole`)).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(f.function.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason:
          "Scheduler may invoke any version or alias of this one function (LambdaInvoke grants the function ARN and its qualifiers)",
      });

    new CfnOutput(this, "BillingTableName", { value: this.table.tableName });
    new CfnOutput(this, "UsageQueueUrl", { value: this.usageQueue.queueUrl });
    new CfnOutput(this, "UsageDeadLetterQueueUrl", { value: this.usageDlq.queueUrl });
    new CfnOutput(this, "ExportsBucketName", { value: this.exportsBucket.bucketName });
    new CfnOutput(this, "CloseQueueUrl", { value: this.closeQueue.queueUrl });
    new CfnOutput(this, "CloseDeadLetterQueueUrl", { value: this.closeDlq.queueUrl });
    new CfnOutput(this, "DeadLetterFunctionName", { value: deadLetter.function.functionName });
    new CfnOutput(this, "MarketplaceCredentialsSecretArn", { value: marketplaceCredentials.secretArn });
  }
}

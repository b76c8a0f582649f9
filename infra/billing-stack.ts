/**
 * The billing stack: one KMS key, the single DynamoDB table, the usage and close queues with
 * their DLQs, the exports bucket, the six billing functions with least-privilege grants, their
 * schedules, and the alarms operators act on (constructs/monitoring.ts: every alarm notifies the
 * alarm topic). Each job is built by its own module under constructs/: billing-data.ts (key, table,
 * backup), exports-buckets.ts, usage-ingest.ts, period-close.ts, marketplace-reporting.ts,
 * finance-api.ts, schedules.ts; they add their resources to this stack itself, so the logical IDs
 * (and with them the deployed table, queues and buckets) stay as they are.
 *
 * Adding a function: a `BillingFunction` (defaults: arm64, nodejs22.x, tracing, encrypted env and
 * logs, failure queue), its rows in `TABLE_ACCESS` (constructs/table-access.ts: exact DynamoDB
 * actions per key prefix), the grant helpers of constructs/grants.ts for queues and objects, and a
 * row in the exact-IAM test.
 */
import { Aspects, CfnOutput, CfnParameter, RemovalPolicy, Stack, type StackProps, Tags } from "aws-cdk-lib";
import type * as backup from "aws-cdk-lib/aws-backup";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import * as xray from "aws-cdk-lib/aws-xray";
import type { Construct } from "constructs";
import { alarmAbove, queueDepth } from "./constructs/alarms.js";
import { billingKey, billingTable, tableBackup } from "./constructs/billing-data.js";
import type { BillingFunction } from "./constructs/billing-function.js";
import { exportsBuckets } from "./constructs/exports-buckets.js";
import { FinanceApi } from "./constructs/finance-api.js";
import { type BillingFunctionName, type BillingParts, DEFAULT_ENTRIES } from "./constructs/function-set.js";
import {
  marketplaceAlarms,
  marketplaceCredentials,
  marketplaceReporterFunction,
  marketplaceSchedule,
  wireMarketplaceReporting,
} from "./constructs/marketplace-reporting.js";
import { AlarmsNotify, BillingMonitoring, notifyOnOk } from "./constructs/monitoring.js";
import {
  CLOSE_QUEUE_SETTINGS,
  closeFunctions,
  closeSchedule,
  DEFAULT_CLOSE_OVERDUE_HOURS,
  periodCloseAlarms,
  wirePeriodClose,
} from "./constructs/period-close.js";
import { scheduleDeadLetterQueue } from "./constructs/schedules.js";
import { queueWithDeadLetters } from "./constructs/secure-queue.js";
import {
  SERVICE_TAG,
  STAGE_SETTINGS,
  type Stage,
  type StageConfig,
  TagProviderResources,
  validateStageConfig,
} from "./constructs/stage.js";
import { grantTableAccess, TABLE_ACCESS } from "./constructs/table-access.js";
import { UsageFold } from "./constructs/usage-fold.js";
import {
  allowUsageProducers,
  deadLetterFunction,
  INGEST_TIMEOUT,
  ingestFunction,
  USAGE_QUEUE_SETTINGS,
  usageIngestAlarms,
  wireUsageIngest,
} from "./constructs/usage-ingest.js";

// The stack's settings and names, importable from here as before the split.
export {
  DEAD_LETTER_BODIES_PREFIX,
  EXPORTS_TRANSITIONS,
  PERIOD_EXPORT_PREFIXES,
} from "./constructs/exports-buckets.js";
export { type BillingFunctionName, DEFAULT_ENTRIES } from "./constructs/function-set.js";
export { NO_MARKETPLACE_API_URL } from "./constructs/marketplace-reporting.js";
export {
  CLOSE_BATCH_SIZE,
  CLOSE_MAX_CONCURRENCY,
  CLOSE_MAX_RECEIVE_COUNT,
  DEFAULT_CLOSE_OVERDUE_HOURS,
} from "./constructs/period-close.js";
export {
  SERVICE_TAG,
  STAGE_SETTINGS,
  type Stage,
  type StageConfig,
  StageConfigError,
  type StageSettings,
} from "./constructs/stage.js";
export { TABLE_ACCESS } from "./constructs/table-access.js";
export {
  INGEST_BATCH_SIZE,
  INGEST_MAX_CONCURRENCY,
  INGEST_MEMORY_MB,
  USAGE_QUEUE_RETENTION,
} from "./constructs/usage-ingest.js";

export interface BillingStackProps extends StackProps {
  /** @default "prod" (retained, protected): a dev stack says so (`-c stage=dev`). */
  readonly stage?: Stage;
  /**
   * Base URL of the marketplace metering API the hourly reporter calls (or `config.marketplaceApiUrl`).
   * @default none: reporting off (see StageConfig)
   */
  readonly marketplaceApiUrl?: string;
  /** The stage's own endpoints, identities, subscriptions and producers. */
  readonly config?: StageConfig;
  /**
   * Hours after a period's end in an account's zone past which its close is overdue (the close
   * scheduler's CloseAccountsOverdue and the close queue's age alarm).
   * @default DEFAULT_CLOSE_OVERDUE_HOURS (context `closeOverdueHours` in infra/app.ts)
   */
  readonly closeOverdueHours?: number;
  /** Entry files per function. @default DEFAULT_ENTRIES (functions/<name>/handler.ts) */
  readonly entries?: Partial<Record<BillingFunctionName, string>>;
}

export class BillingStack extends Stack {
  readonly key: kms.Key;
  readonly table: dynamodb.Table;
  readonly usageQueue: sqs.Queue;
  readonly usageDlq: sqs.Queue;
  /** One message per (account, period) to close, and its DLQ. */
  readonly closeQueue: sqs.Queue;
  readonly closeDlq: sqs.Queue;
  /** Finance exports by period, and whole bodies of dead letters too large for their table item. */
  readonly exportsBucket: s3.Bucket;
  /** The exports bucket's server access logs. */
  readonly accessLogsBucket: s3.Bucket;
  /** The table's daily AWS Backup plan. */
  readonly backupPlan: backup.BackupPlan;
  readonly functions: Readonly<Record<BillingFunctionName, BillingFunction>>;
  /** Scheduled invocations that failed to be delivered after their retries. */
  readonly scheduleDlq: sqs.Queue;
  readonly monitoring: BillingMonitoring;
  /** The finance HTTP API (IAM auth) and its read-only function (constructs/finance-api.ts). */
  readonly financeApi: FinanceApi;

  constructor(scope: Construct, id: string, props: BillingStackProps) {
    const stage = props.stage ?? "prod";
    const settings = STAGE_SETTINGS[stage];
    super(scope, id, { terminationProtection: settings.terminationProtection, ...props });
    // The access-log target is written through its bucket policy (no ACLs), whatever the app's flags.
    this.node.setContext("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", true);
    const config = props.config ?? {};
    const entries = { ...DEFAULT_ENTRIES, ...props.entries };
    const removalPolicy = settings.removalPolicy;
    const destroyable = removalPolicy === RemovalPolicy.DESTROY;
    const marketplaceApiUrl = props.marketplaceApiUrl ?? config.marketplaceApiUrl;
    const exportsLockDays = config.exportsLockDays ?? settings.exportsLockDays;
    validateStageConfig(config, { exportsLockDays, destroyable });
    // Every taggable resource: which stage, which service, whose budget.
    const tags = { stage, service: SERVICE_TAG, "cost-centre": config.costCentre ?? SERVICE_TAG };
    for (const [k, v] of Object.entries(tags)) Tags.of(this).add(k, v);
    Aspects.of(this).add(new TagProviderResources(tags));
    const closeOverdueHours = props.closeOverdueHours ?? DEFAULT_CLOSE_OVERDUE_HOURS;
    if (!Number.isInteger(closeOverdueHours) || closeOverdueHours < 1 || closeOverdueHours > 240)
      throw new Error(
        `closeOverdueHours must be a whole number of hours in 1..240, not ${closeOverdueHours}`,
      );
    const alarmEmail =
      config.alarmEmail ??
      new CfnParameter(this, "AlarmEmail", {
        type: "String",
        description: "E-mail address the alarm topic notifies (confirm the subscription mail)",
        allowedPattern: "^[^@\\s]+@[^@\\s]+$",
        constraintDescription: "an e-mail address",
      }).valueAsString;

    const producers = [...new Set(config.producerAccountIds ?? [])];
    this.key = billingKey(this, { removalPolicy, producers });
    this.table = billingTable(this, this.key, settings);

    // Queues (constructs/secure-queue.ts): SSE with the stack key, TLS only; a DLQ keeps 14 days.
    const queueBase = { key: this.key, removalPolicy };
    ({ queue: this.usageQueue, deadLetters: this.usageDlq } = queueWithDeadLetters(
      this,
      { queue: "UsageQueue", deadLetters: "UsageDeadLetterQueue" },
      { ...queueBase, ...USAGE_QUEUE_SETTINGS },
    ));
    ({ queue: this.closeQueue, deadLetters: this.closeDlq } = queueWithDeadLetters(
      this,
      { queue: "CloseQueue", deadLetters: "CloseDeadLetterQueue" },
      { ...queueBase, ...CLOSE_QUEUE_SETTINGS },
    ));
    allowUsageProducers(this.usageQueue, producers);

    ({ exportsBucket: this.exportsBucket, accessLogsBucket: this.accessLogsBucket } = exportsBuckets(this, {
      key: this.key,
      removalPolicy,
      destroyable,
      logRetention: settings.logRetention,
      lockDays: exportsLockDays,
    }));
    this.backupPlan = tableBackup(this, {
      key: this.key,
      table: this.table,
      retentionDays: settings.backupRetentionDays,
    });

    const parts: BillingParts = {
      key: this.key,
      table: this.table,
      exportsBucket: this.exportsBucket,
      entries,
      common: {
        encryptionKey: this.key,
        encryptLogs: true,
        logRetention: settings.logRetention,
        removalPolicy,
        // BILLING_TABLE, CLOSE_QUEUE_URL, EXPORTS_BUCKET and the secret's ARN come with their grants.
        environment: {
          USAGE_QUEUE_URL: this.usageQueue.queueUrl,
          USAGE_DLQ_URL: this.usageDlq.queueUrl,
        },
      },
    };
    const ingestUsage = ingestFunction(this, parts);
    const { closeScheduler, closeWorker } = closeFunctions(this, parts, closeOverdueHours);
    const credentials = marketplaceCredentials(this, { config, key: this.key, removalPolicy });
    const marketplaceReporter = marketplaceReporterFunction(this, parts, { config, marketplaceApiUrl });
    const deadLetter = deadLetterFunction(this, parts);
    this.financeApi = new FinanceApi(this, "FinanceApi", {
      function: {
        ...parts.common,
        // Responses are CSV pages of up to 6 MB: never copied into the trace as metadata.
        environment: { ...parts.common.environment, POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false" },
        entry: entries.financeApi,
      },
      key: this.key,
      logRetention: settings.logRetention,
      removalPolicy,
    });
    const financeApi = this.financeApi.handler;
    this.functions = {
      ingestUsage,
      closeScheduler,
      closeWorker,
      marketplaceReporter,
      deadLetter,
      financeApi,
    };

    // Least privilege (constructs/grants.ts): exact item actions per key prefix, KMS only through
    // the service; each grant sets the variable naming its resource (grantWithEnv). The finance API
    // reads the table only (its lines and reports are the close records): no bucket grant.
    for (const name of Object.keys(TABLE_ACCESS) as BillingFunctionName[])
      grantTableAccess(this.functions[name], name, parts);
    wireUsageIngest(parts, { ingestUsage, deadLetter, usageQueue: this.usageQueue, usageDlq: this.usageDlq });
    wireMarketplaceReporting({ reporter: marketplaceReporter, credentials });
    wirePeriodClose(parts, { closeScheduler, closeWorker, closeQueue: this.closeQueue });

    // Schedules: retried, then dead-lettered to one encrypted queue (alarmed), each with its own role.
    this.scheduleDlq = scheduleDeadLetterQueue(this, queueBase);
    closeSchedule(this, { closeScheduler, deadLetterQueue: this.scheduleDlq, key: this.key });
    // Without a Metering API URL (dev's default) the hourly report is off (the schedule disabled).
    const reporting = marketplaceApiUrl !== undefined;
    marketplaceSchedule(this, {
      reporter: marketplaceReporter,
      reporting,
      deadLetterQueue: this.scheduleDlq,
      key: this.key,
    });
    // The usage fold: its function, grants, one-minute schedule and alarm (constructs/usage-fold.ts).
    new UsageFold(this, "UsageFold", {
      function: parts.common,
      table: this.table,
      key: this.key,
      ingestTimeout: INGEST_TIMEOUT,
      deadLetterQueue: this.scheduleDlq,
    });

    // Alarms (constructs/alarms.ts; each notifies the alarm topic, docs/runbook.md says what to do).
    usageIngestAlarms(this, { ingestUsage, usageDlq: this.usageDlq });
    periodCloseAlarms(this, this.closeDlq);
    marketplaceAlarms(this, marketplaceReporter);
    // Every function's failure queue (asynchronous invocations failed after their retries): only
    // the scheduled ones are invoked so, but a queue nobody watches would hide an invocation that
    // someone adds later.
    for (const f of Object.values(this.functions))
      notifyOnOk(
        alarmAbove(
          this,
          `${f.node.id}FailedAlarm`,
          `An asynchronous ${f.node.id} invocation (a scheduled run) failed after its retries (see its failure queue)`,
          queueDepth(f.failureQueue),
        ),
      );

    this.monitoring = new BillingMonitoring(this, "Monitoring", {
      key: this.key,
      alarmEmail,
      ...(config.pagerUrl ? { pagerUrl: config.pagerUrl } : {}),
      removalPolicy,
      table: this.table,
      financeApi: this.financeApi,
      scheduled: [closeScheduler, ...(reporting ? [marketplaceReporter] : [])],
      usageQueue: this.usageQueue,
      closeQueue: this.closeQueue,
      closeOverdueHours,
      scheduleDlq: this.scheduleDlq,
      functions: this.functions,
    });
    // Every alarm of the stack notifies the topic, also those added after this line.
    Aspects.of(this).add(new AlarmsNotify(this.monitoring.topic));

    // X-Ray: the first request each second and this share of the rest, for this stack's functions.
    new xray.CfnSamplingRule(this, "TraceSamplingRule", {
      samplingRule: {
        ruleName: `cpaas-billing-${stage}`.slice(0, 32),
        priority: stage === "prod" ? 100 : 101,
        reservoirSize: 1,
        fixedRate: settings.traceSamplingRate,
        serviceName: SERVICE_TAG,
        serviceType: "*",
        host: "*",
        httpMethod: "*",
        urlPath: "*",
        resourceArn: "*",
        version: 1,
      },
    });

    new CfnOutput(this, "BillingTableName", { value: this.table.tableName });
    new CfnOutput(this, "UsageQueueUrl", { value: this.usageQueue.queueUrl });
    new CfnOutput(this, "UsageDeadLetterQueueUrl", { value: this.usageDlq.queueUrl });
    new CfnOutput(this, "ExportsBucketName", { value: this.exportsBucket.bucketName });
    new CfnOutput(this, "CloseQueueUrl", { value: this.closeQueue.queueUrl });
    new CfnOutput(this, "CloseDeadLetterQueueUrl", { value: this.closeDlq.queueUrl });
    // Every function by name (the runbook's first commands find their logs from these).
    for (const [output, f] of [
      ["IngestFunctionName", ingestUsage],
      ["CloseSchedulerFunctionName", closeScheduler],
      ["CloseWorkerFunctionName", closeWorker],
      ["MarketplaceReporterFunctionName", marketplaceReporter],
      ["DeadLetterFunctionName", deadLetter],
      ["FinanceApiFunctionName", financeApi],
    ] as const)
      new CfnOutput(this, output, { value: f.function.functionName });
    new CfnOutput(this, "MarketplaceCredentialsSecretArn", { value: credentials.secretArn });
    new CfnOutput(this, "FinanceApiUrl", {
      value: this.financeApi.api.apiEndpoint,
      description: "BILLING_API_URL of the deployed stack: SigV4-signed GETs (execute-api:Invoke)",
    });
  }
}

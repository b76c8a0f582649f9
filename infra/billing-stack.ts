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
  CfnResource,
  Duration,
  type IAspect,
  RemovalPolicy,
  Stack,
  type StackProps,
  TagManager,
  Tags,
  Validations,
} from "aws-cdk-lib";
import * as backup from "aws-cdk-lib/aws-backup";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import * as xray from "aws-cdk-lib/aws-xray";
import type { Construct, IConstruct } from "constructs";
import { EXPIRES_AT_ATTRIBUTE } from "../shared/core/identity-retention.js";
import {
  INGEST_UNEXPECTED_ERRORS_METRIC,
  MARKETPLACE_EXPIRED_EVENTS_METRIC,
  MARKETPLACE_INCOMPLETE_RUNS_METRIC,
  MARKETPLACE_OVERDUE_PENDING_METRIC,
  MARKETPLACE_REJECTED_EVENTS_METRIC,
} from "../shared/runtime/observability.js";
import { alarmAbove, billingMetric, queueDepth } from "./constructs/alarms.js";
import { BillingFunction } from "./constructs/billing-function.js";
import { FinanceApi } from "./constructs/finance-api.js";
import {
  grantObjectsGet,
  grantObjectsPut,
  grantQueueConsume,
  grantQueueSend,
  grantTableItems,
  grantWithEnv,
  type TableAccess,
  viaService,
} from "./constructs/grants.js";
import { ingestDeadLetterRateAlarm } from "./constructs/ingest-fault-alarms.js";
import { AlarmsNotify, BillingMonitoring, notifyOnOk } from "./constructs/monitoring.js";
import { secureQueue } from "./constructs/secure-queue.js";
import { USAGE_FOLD_ACCESS, UsageFold } from "./constructs/usage-fold.js";

export type BillingFunctionName =
  | "ingestUsage"
  | "closeScheduler"
  | "closeWorker"
  | "marketplaceReporter"
  | "deadLetter"
  | "financeApi";

const functionsDir = (name: string) =>
  fileURLToPath(new URL(`../functions/${name}/handler.ts`, import.meta.url));

/** The real handler files; tests may replace them with a fixture. */
export const DEFAULT_ENTRIES: Readonly<Record<BillingFunctionName, string>> = {
  ingestUsage: functionsDir("ingest-usage"),
  closeScheduler: functionsDir("close-scheduler"),
  closeWorker: functionsDir("close-worker"),
  marketplaceReporter: functionsDir("marketplace-reporter"),
  deadLetter: functionsDir("dead-letter"),
  financeApi: functionsDir("finance-api"),
};

/**
 * Item access per function: exact actions on the partition-key prefixes each one touches
 * (docs/data-model.md; `dynamodb:LeadingKeys`). TransactWriteItems is authorized per item as
 * PutItem/UpdateItem/DeleteItem/ConditionCheckItem; a PartiQL INSERT as PartiQLInsert.
 */
export const TABLE_ACCESS: Readonly<Record<BillingFunctionName, readonly TableAccess[]>> = {
  // Claims (PartiQL INSERT, BatchGet, take-over), journals and attempt commits (the fold writes the
  // counters, pages and markers), conflicts and their per-period index, close records (read, for a
  // late conflict), configuration (read), dead letters with their per-account index (transactions).
  ingestUsage: [
    { actions: ["dynamodb:PartiQLInsert"], leadingKeys: ["ID#*", "CONFLICTS#*", "ACCT#*"] },
    { actions: ["dynamodb:BatchGetItem"], leadingKeys: ["ID#*"] },
    // ID#: a crashed attempt's claims taken over; ACCT#: a period's usage marker flagged with a conflict.
    { actions: ["dynamodb:UpdateItem"], leadingKeys: ["ID#*", "ACCT#*"] },
    { actions: ["dynamodb:GetItem"], leadingKeys: ["COMMIT#*", "BILL#*", "CFG#*", "DEADLETTER#*"] },
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*"] },
    // Dead letters go to their shards (DEADLETTER#); their account index to the account's key (DLA#)
    // or, in a burst, its burst keys (DLS#).
    {
      actions: ["dynamodb:PutItem"],
      leadingKeys: ["COMMIT#*", "JRNL#*", "DEADLETTER#*", "DLA#*", "DLS#*"],
    },
    { actions: ["dynamodb:DeleteItem"], leadingKeys: ["DLA#*", "DLS#*"] },
    // Late conflicts (G5).
    { actions: ["dynamodb:PutItem"], leadingKeys: ["LATECF#*"] },
  ],
  // Lists the accounts of the due zones; keeps its per-zone cursor (D15). Rewrites the manifests of
  // the periods whose exports changed (D25): the period list and index (Query), the manifest's count
  // (UpdateItem); an account whose objects are missing is exported first (its close record, GetItem,
  // and lines, Query, on BILL#; its entry updated).
  closeScheduler: [
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*", "PERIOD#*", "BILL#*", "UNCLOSED#*"] },
    { actions: ["dynamodb:GetItem", "dynamodb:PutItem"], leadingKeys: ["SCHED#*"] },
    { actions: ["dynamodb:GetItem"], leadingKeys: ["BILL#*"] },
    { actions: ["dynamodb:UpdateItem"], leadingKeys: ["PERIOD#*"] },
  ],
  // Reads one account's period (counters, pages, snapshot, conflicts and letters indexes) and looks
  // the account and its tariff up by key (never the whole configuration); writes only under its
  // claim: BILL# (claim, close record, lines), ACCT# (usage marker's closed flag, late markers),
  // REPORT# list chunks (and a crashed
  // attempt's stale ones deleted), SNAP# snapshots (a rewritten one's old parts deleted).
  closeWorker: [
    // It folds its account's journal before and under its claim (constructs/usage-fold.ts).
    ...USAGE_FOLD_ACCESS,
    {
      actions: ["dynamodb:Query"],
      // DLA#: the account's dead-letter index; DLS#: its burst keys, read when a burst is marked.
      leadingKeys: [
        "ACCT#*",
        "BILL#*",
        "CTR#*",
        "EVT#*",
        "DLA#*",
        "DLS#*",
        "CONFLICTS#*",
        "REPORT#*",
        "SNAP#*",
      ],
    },
    { actions: ["dynamodb:GetItem"], leadingKeys: ["BILL#*", "CFG#*"] },
    { actions: ["dynamodb:PutItem"], leadingKeys: ["BILL#*", "REPORT#*", "SNAP#*"] },
    // ACCT#: late markers cleared once billed; BILL#: a crashed attempt's stale line chunks.
    { actions: ["dynamodb:DeleteItem"], leadingKeys: ["ACCT#*", "BILL#*", "REPORT#*", "SNAP#*"] },
    // ACCT#: the usage marker flagged closed, late markers; BILL#: the close record (claim, finish).
    { actions: ["dynamodb:UpdateItem"], leadingKeys: ["ACCT#*", "BILL#*"] },
    { actions: ["dynamodb:ConditionCheckItem"], leadingKeys: ["BILL#*"] },
    // Line explanations (D26), in transactions with the claim check on ACCT#.
    { actions: ["dynamodb:PutItem"], leadingKeys: ["EXPL#*"] },
    // The period index (D25): its entry put with the close record, then the exported objects noted on it.
    {
      actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
      leadingKeys: ["PERIOD#*"],
    },
    // The account's configuration versions (CFG#V#), its unreported late conflicts; the closed
    // account-period leaves the unclosed-usage index (or a request without configuration is suspended there).
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*", "LATECF#*"] },
    { actions: ["dynamodb:DeleteItem"], leadingKeys: ["LATECF#*", "UNCLOSED#*"] },
    { actions: ["dynamodb:UpdateItem"], leadingKeys: ["UNCLOSED#*"] },
  ],
  // Reads configuration, the account's periods with usage (ACCT# USAGE# markers), the carry-over
  // snapshot at the first month in play and that month's raw pages on; writes only its own MKT#
  // records and watermarks.
  marketplaceReporter: [
    { actions: ["dynamodb:Query"], leadingKeys: ["CFG#*", "ACCT#*", "EVT#*", "SNAP#*", "MKT#*"] },
    { actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], leadingKeys: ["MKT#*"] },
    // It folds each account's journal before reading its pages.
    ...USAGE_FOLD_ACCESS,
  ],
  // Lists and removes dead letters (with their per-account index entry, one transaction), over
  // every shard; letters from before sharding (DEADLETTER, DLA#) are moved to their shards.
  deadLetter: [
    { actions: ["dynamodb:Query", "dynamodb:GetItem"], leadingKeys: ["DEADLETTER", "DEADLETTER#*"] },
    { actions: ["dynamodb:PutItem"], leadingKeys: ["DEADLETTER#*"] },
    { actions: ["dynamodb:DeleteItem"], leadingKeys: ["DEADLETTER", "DEADLETTER#*", "DLA#*", "DLS#*"] },
  ],
  // Read only (D27): configuration; the period index (PERIOD#, walked page by page); close records
  // and lines (BILL#); the preview's usage periods (ACCT#), counters, raw pages and carry-over snapshots.
  financeApi: [
    {
      actions: ["dynamodb:Query"],
      leadingKeys: ["CFG#*", "PERIOD#*", "ACCT#*", "BILL#*", "CTR#*", "EVT#*", "SNAP#*"],
    },
    // GetItem on EXPL#: a line's explanation by its id (D26); on PERIOD#: ?accountId= of an account
    // closed for the period but no longer configured (contract §2).
    { actions: ["dynamodb:GetItem"], leadingKeys: ["BILL#*", "EXPL#*", "PERIOD#*"] },
  ],
};

/**
 * `dev`: short log retention, everything deletable (`cdk destroy` empties the buckets), small
 * capacity caps. `prod`: a year of logs, everything retained, protected, finance records locked.
 */
export type Stage = "dev" | "prod";
export interface StageSettings {
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly terminationProtection: boolean;
  /** Object Lock default retention (governance) of the exports, in days; none: versions unlocked. */
  readonly exportsLockDays: number | undefined;
  /** Days each daily AWS Backup recovery point of the table is kept. */
  readonly backupRetentionDays: number;
  /** The table's pre-warmed throughput (units/s), bought once; none: the on-demand default. */
  readonly warmThroughput:
    | { readonly readUnitsPerSecond: number; readonly writeUnitsPerSecond: number }
    | undefined;
  /** Ceiling of on-demand request units per second (a runaway stops there, throttled and alarmed). */
  readonly maxRequestUnits: { readonly read: number; readonly write: number };
  /** X-Ray: share of requests traced past the first one each second. */
  readonly traceSamplingRate: number;
}
export const STAGE_SETTINGS: Readonly<Record<Stage, StageSettings>> = {
  dev: {
    logRetention: logs.RetentionDays.TWO_WEEKS,
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    terminationProtection: false,
    exportsLockDays: undefined,
    backupRetentionDays: 7,
    warmThroughput: undefined,
    maxRequestUnits: { read: 2_000, write: 1_000 },
    traceSamplingRate: 0.5,
  },
  prod: {
    logRetention: logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    terminationProtection: true,
    // Ten years, as finance records (a leap day or two included).
    exportsLockDays: 3_653,
    backupRetentionDays: 35,
    // 10,000 events/s at ≈ 1.4–3 write units each (docs/performance.md); reads: the close and previews.
    warmThroughput: { readUnitsPerSecond: 20_000, writeUnitsPerSecond: 30_000 },
    // The account's default per-table quota: past it the quota throttles anyway, here it is named.
    maxRequestUnits: { read: 40_000, write: 40_000 },
    traceSamplingRate: 0.01,
  },
};

/** Per-stage deployment values (cdk.json `stages.<stage>`, `-c` overrides; infra/app.ts). */
export interface StageConfig {
  /**
   * Base URL of the Metering API the hourly reporter calls. None (dev's default): reporting is off,
   * its schedule disabled and the URL a reserved name that never resolves, so a dev stack can never
   * report usage to Microsoft's real API.
   */
  readonly marketplaceApiUrl?: string | undefined;
  /** Entra ID authority (default https://login.microsoftonline.com). */
  readonly entraAuthority?: string | undefined;
  /** The publisher's Entra tenant and application ids; when given the secret may hold only the client secret. */
  readonly entraTenantId?: string | undefined;
  readonly entraClientId?: string | undefined;
  /** An existing Secrets Manager secret (full ARN) with the Entra credentials; none: the stack makes one. */
  readonly marketplaceSecretArn?: string | undefined;
  /** The address the alarms mail; none: the stack parameter `AlarmEmail`. */
  readonly alarmEmail?: string | undefined;
  /** An HTTPS endpoint of the on-call pager (e.g. PagerDuty's or Opsgenie's SNS integration URL). */
  readonly pagerUrl?: string | undefined;
  /** AWS accounts of the producers (the upstream systems) that send usage to the usage queue. */
  readonly producerAccountIds?: readonly string[] | undefined;
  /** The `cost-centre` tag of every resource. */
  readonly costCentre?: string | undefined;
  /** Object Lock default retention of the exports, in days (overrides the stage's). */
  readonly exportsLockDays?: number | undefined;
}

/** The `service` tag of every resource, and the X-Ray service the sampling rule matches. */
export const SERVICE_TAG = "cpaas-billing";
/** An RFC 2606 reserved name: never resolves, so a stage without a Metering API URL reports nowhere. */
export const NO_MARKETPLACE_API_URL = "https://marketplace-reporting-off.invalid";

/** Where dead letters' whole bodies go in the exports bucket (shared/app/dead-letters.ts). */
export const DEAD_LETTER_BODIES_PREFIX = "dead-letters/";
/** Where each close puts its invoice lines and report by period (shared/core/period-exports.ts, D25). */
export const PERIOD_EXPORT_PREFIXES = ["invoice-lines/", "close-reports/"] as const;

/**
 * Most ingest invocations at once: bounds the write rate on the table and its hottest keys. With
 * 1,000 messages per invocation, 10,000 events/s needs a batch done in ≤ 2 s (docs/performance.md
 * "Capacity of a stage").
 */
export const INGEST_MAX_CONCURRENCY = 20;
/**
 * Ingest's memory, hence its CPU share (1,769 MB = one vCPU): a 1,000-event batch measured 177 ms
 * of CPU and 85 MB of heap, so CPU, not memory, bounds it: ≈ 610 ms of a batch at 512 MB, ≈ 305 ms
 * at 1,024 MB, which leaves 1.7 s of the 2 s for DynamoDB (docs/performance.md).
 */
export const INGEST_MEMORY_MB = 1024;

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
   * scheduler's CloseAccountsOverdue and the close queue's age alarm, decisions D28).
   * @default DEFAULT_CLOSE_OVERDUE_HOURS (context `closeOverdueHours` in infra/app.ts)
   */
  readonly closeOverdueHours?: number;
  /** Entry files per function. @default DEFAULT_ENTRIES (functions/<name>/handler.ts) */
  readonly entries?: Partial<Record<BillingFunctionName, string>>;
}

/** A period not closed this long after its end (in the account's zone) alarms (decisions D28). */
export const DEFAULT_CLOSE_OVERDUE_HOURS = 6;

/** SQS's longest retention: usage survives a stopped event source for two weeks. */
export const USAGE_QUEUE_RETENTION = Duration.days(14);
/** Exports (and their older versions) move to cheaper classes as they age: [class, days]. */
export const EXPORTS_TRANSITIONS: readonly (readonly [s3.StorageClass, number])[] = [
  [s3.StorageClass.INFREQUENT_ACCESS, 90],
  [s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, 365],
];

/**
 * The custom-resource providers CDK adds (the buckets' auto-delete in dev) are plain CfnResources
 * that `Tags.of` does not reach: their function and role get the same tags here.
 */
class TagProviderResources implements IAspect {
  constructor(private readonly tags: Record<string, string>) {}
  visit(node: IConstruct): void {
    if (!(node instanceof CfnResource) || TagManager.isTaggable(node)) return;
    if (node.cfnResourceType !== "AWS::Lambda::Function" && node.cfnResourceType !== "AWS::IAM::Role") return;
    node.addPropertyOverride(
      "Tags",
      Object.entries(this.tags).map(([Key, Value]) => ({ Key, Value })),
    );
  }
}

/** A stage's values checked before anything is built: a bad one stops the synth with its name. */
export class StageConfigError extends Error {
  override readonly name = "StageConfigError";
}
function validateStageConfig(
  config: StageConfig,
  { exportsLockDays, destroyable }: { exportsLockDays: number | undefined; destroyable: boolean },
) {
  for (const a of config.producerAccountIds ?? [])
    if (!/^\d{12}$/.test(a)) throw new StageConfigError(`producer account id must be 12 digits, not "${a}"`);
  if (config.pagerUrl !== undefined && !config.pagerUrl.startsWith("https://"))
    throw new StageConfigError(`pagerUrl must be an https:// endpoint, not "${config.pagerUrl}"`);
  if (config.marketplaceSecretArn !== undefined && !config.marketplaceSecretArn.startsWith("arn:"))
    throw new StageConfigError(`marketplaceSecretArn must be a secret's full ARN`);
  if (exportsLockDays !== undefined && (!Number.isInteger(exportsLockDays) || exportsLockDays < 1))
    throw new StageConfigError(`exportsLockDays must be a whole number of days, not ${exportsLockDays}`);
  // A locked version cannot be deleted before its retention ends: `cdk destroy` would fail.
  if (exportsLockDays !== undefined && destroyable)
    throw new StageConfigError(
      "a stage whose resources are destroyed cannot lock its exports (exportsLockDays)",
    );
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
  /** The exports bucket's server access logs. */
  readonly accessLogsBucket: s3.Bucket;
  /** The table's daily AWS Backup plan. */
  readonly backupPlan: backup.BackupPlan;
  readonly functions: Readonly<Record<BillingFunctionName, BillingFunction>>;
  /** Scheduled invocations that failed to be delivered after their retries. */
  readonly scheduleDlq: sqs.Queue;
  readonly monitoring: BillingMonitoring;
  /** The finance HTTP API (IAM auth) and its read-only function (constructs/finance-api.ts, D27). */
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
    // Producers in other accounts send encrypted messages to the usage queue: SQS asks the key for
    // a data key on their behalf (their own IAM policy must allow the same).
    const producers = [...new Set(config.producerAccountIds ?? [])];
    if (producers.length > 0)
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: "UsageProducersViaSqs",
          principals: producers.map((a) => new iam.AccountPrincipal(a)),
          actions: ["kms:GenerateDataKey", "kms:Decrypt"],
          resources: ["*"],
          conditions: { StringEquals: { "kms:ViaService": viaService("sqs") } },
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
      // G5: identity claims and attempt records expire 400 days (and a day) after their event.
      timeToLiveAttribute: EXPIRES_AT_ATTRIBUTE,
      maxReadRequestUnits: settings.maxRequestUnits.read,
      maxWriteRequestUnits: settings.maxRequestUnits.write,
      ...(settings.warmThroughput ? { warmThroughput: settings.warmThroughput } : {}),
    });

    // Queues (constructs/secure-queue.ts): SSE with the stack key, TLS only; a DLQ keeps 14 days.
    // The usage queue keeps 14 days too (SQS's most): a stopped event source over a long weekend
    // loses nothing. A message keeps its first enqueue time in the DLQ, so the usage DLQ's depth
    // pages at once (an operator then has what is left of the 14 days).
    const queueBase = { key: this.key, removalPolicy };
    const terminal = {
      reason: "A dead-letter queue: terminal by design, its depth is alarmed and operators redrive it",
    };
    this.usageDlq = secureQueue(this, "UsageDeadLetterQueue", { ...queueBase, terminal });
    this.usageQueue = secureQueue(this, "UsageQueue", {
      ...queueBase,
      retentionPeriod: USAGE_QUEUE_RETENTION,
      // AWS guidance: at least 6x the function timeout, plus the batching window.
      visibilityTimeout: Duration.seconds(
        6 * INGEST_TIMEOUT.toSeconds() + INGEST_BATCHING_WINDOW.toSeconds(),
      ),
      deadLetterQueue: { queue: this.usageDlq, maxReceiveCount: 5 },
    });
    this.closeDlq = secureQueue(this, "CloseDeadLetterQueue", { ...queueBase, terminal });
    this.closeQueue = secureQueue(this, "CloseQueue", {
      ...queueBase,
      visibilityTimeout: Duration.seconds(6 * CLOSE_WORKER_TIMEOUT.toSeconds()),
      deadLetterQueue: { queue: this.closeDlq, maxReceiveCount: CLOSE_MAX_RECEIVE_COUNT },
    });

    if (producers.length > 0)
      this.usageQueue.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: "UsageProducersSend",
          principals: producers.map((a) => new iam.AccountPrincipal(a)),
          actions: ["sqs:SendMessage"],
          resources: [this.usageQueue.queueArn],
        }),
      );

    // Server access logs of the exports bucket (S3 writes them; SSE-S3, the only encryption a log
    // target may have): who read or wrote which finance record, kept as long as the stage's logs.
    this.accessLogsBucket = new s3.Bucket(this, "ExportsAccessLogsBucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(settings.logRetention) }],
      removalPolicy,
      autoDeleteObjects: destroyable,
    });
    // Finance records: every version kept, locked (governance) for the stage's retention; older
    // exports move to cheaper storage classes (still read in milliseconds).
    this.exportsBucket = new s3.Bucket(this, "ExportsBucket", {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      objectLockEnabled: true,
      ...(exportsLockDays === undefined
        ? {}
        : { objectLockDefaultRetention: s3.ObjectLockRetention.governance(Duration.days(exportsLockDays)) }),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: "exports/",
      lifecycleRules: [
        // The close worker may not abort a multipart upload (PutObject only): an interrupted one's parts go.
        { id: "AbortIncompleteUploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
        {
          id: "OlderExportsCheaper",
          transitions: EXPORTS_TRANSITIONS.map(([storageClass, days]) => ({
            storageClass,
            transitionAfter: Duration.days(days),
          })),
          noncurrentVersionTransitions: EXPORTS_TRANSITIONS.map(([storageClass, days]) => ({
            storageClass,
            transitionAfter: Duration.days(days),
          })),
        },
      ],
      removalPolicy,
      // dev: `cdk destroy` empties the bucket (every version) first; nothing is locked there.
      autoDeleteObjects: destroyable,
    });

    // AWS Backup of the table (besides PITR's 35 days of restore points): a daily recovery point,
    // in a vault encrypted with the stack key. The vault is retained in every stage: AWS refuses to
    // delete a vault holding recovery points, and a backup must outlive the stack it saves.
    const vault = new backup.BackupVault(this, "BackupVault", {
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.backupPlan = new backup.BackupPlan(this, "TableBackupPlan", { backupVault: vault });
    this.backupPlan.addRule(
      new backup.BackupPlanRule({
        ruleName: "Daily",
        scheduleExpression: events.Schedule.cron({ minute: "0", hour: "3" }),
        deleteAfter: Duration.days(settings.backupRetentionDays),
      }),
    );
    const selection = this.backupPlan.addSelection("Table", {
      resources: [backup.BackupResource.fromDynamoDbTable(this.table)],
    });
    Validations.of(selection.grantPrincipal as iam.Role).acknowledge({
      id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
      reason:
        "AWS Backup's own service-role policy (what backup jobs need, kept current by AWS) on a role only backup.amazonaws.com assumes, selecting this one table",
    });

    const common = {
      encryptionKey: this.key,
      encryptLogs: true,
      logRetention: settings.logRetention,
      removalPolicy,
      // BILLING_TABLE, CLOSE_QUEUE_URL, EXPORTS_BUCKET and the secret's ARN come with their grants.
      environment: {
        USAGE_QUEUE_URL: this.usageQueue.queueUrl,
        USAGE_DLQ_URL: this.usageDlq.queueUrl,
      },
    };

    const ingestUsage = new BillingFunction(this, "IngestUsage", {
      ...common,
      // The take-over cut-off of a dead attempt's claims is derived from the function's own timeout.
      environment: { ...common.environment, INGEST_TIMEOUT_SECONDS: String(INGEST_TIMEOUT.toSeconds()) },
      entry: entries.ingestUsage,
      description: "Rates CloudEvents usage messages from the usage queue into the billing table",
      timeout: INGEST_TIMEOUT,
      memorySize: INGEST_MEMORY_MB,
    });
    const closeScheduler = new BillingFunction(this, "CloseScheduler", {
      ...common,
      environment: {
        ...common.environment,
        CLOSE_GRACE_HOURS: "2",
        CLOSE_OVERDUE_HOURS: String(closeOverdueHours),
      },
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
    // The publisher's Entra ID application for the Metering API (D19): JSON
    // { tenantId, clientId, clientSecret } (tenant and client may come from the stage instead),
    // filled in by the operator after deployment — or an existing secret the stage names.
    const marketplaceCredentials: secretsmanager.ISecret = config.marketplaceSecretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(
          this,
          "MarketplaceCredentials",
          config.marketplaceSecretArn,
        )
      : new secretsmanager.Secret(this, "MarketplaceCredentials", {
          description:
            "Entra ID application of the Azure Marketplace publisher: JSON { tenantId, clientId, clientSecret }",
          encryptionKey: this.key,
          removalPolicy,
        });
    const marketplaceReporter = new BillingFunction(this, "MarketplaceReporter", {
      ...common,
      environment: {
        ...common.environment,
        MARKETPLACE_API_URL: marketplaceApiUrl ?? NO_MARKETPLACE_API_URL,
        ...(config.entraAuthority ? { ENTRA_AUTHORITY: config.entraAuthority } : {}),
        ...(config.entraTenantId ? { ENTRA_TENANT_ID: config.entraTenantId } : {}),
        ...(config.entraClientId ? { ENTRA_CLIENT_ID: config.entraClientId } : {}),
      },
      entry: entries.marketplaceReporter,
      description: "Reports rated usage to the marketplace metering API every hour",
      timeout: Duration.minutes(5),
      // One run at a time: two runs would send the same hours twice (the second gets Duplicate).
      reservedConcurrency: 1,
    });
    const deadLetter = new BillingFunction(this, "DeadLetter", {
      ...common,
      entry: entries.deadLetter,
      description: "Operator tool: lists and redrives dead-lettered usage messages",
      timeout: Duration.minutes(5),
    });
    this.financeApi = new FinanceApi(this, "FinanceApi", {
      function: {
        ...common,
        // Responses are CSV pages of up to 6 MB: never copied into the trace as metadata.
        environment: { ...common.environment, POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false" },
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
    // the service; each grant sets the variable naming its resource (grantWithEnv).
    for (const [name, access] of Object.entries(TABLE_ACCESS) as [BillingFunctionName, TableAccess[]][]) {
      grantWithEnv(this.functions[name].function, "BILLING_TABLE", this.table.tableName, (g) =>
        grantTableItems(g, this.table, this.key, access),
      );
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
    grantWithEnv(
      marketplaceReporter.function,
      "MARKETPLACE_CREDENTIALS_SECRET_ARN",
      marketplaceCredentials.secretArn,
      (g) => marketplaceCredentials.grantRead(g),
    );
    // Close fan-out (D15): the scheduler only sends close requests, the worker consumes them.
    closeWorker.function.addEventSourceMapping("CloseQueueSource", {
      eventSourceArn: this.closeQueue.queueArn,
      batchSize: CLOSE_BATCH_SIZE,
      reportBatchItemFailures: true,
      maxConcurrency: CLOSE_MAX_CONCURRENCY,
    });
    grantQueueConsume(closeWorker.function, this.closeQueue, this.key);
    grantWithEnv(closeScheduler.function, "CLOSE_QUEUE_URL", this.closeQueue.queueUrl, (g) =>
      grantQueueSend(g, this.closeQueue, this.key),
    );
    // Ingest writes a large dead letter's body; the dead-letter function reads it to redrive.
    const bucketName = this.exportsBucket.bucketName;
    grantWithEnv(ingestUsage.function, "EXPORTS_BUCKET", bucketName, (g) =>
      grantObjectsPut(g, this.exportsBucket, this.key, DEAD_LETTER_BODIES_PREFIX),
    );
    grantWithEnv(deadLetter.function, "EXPORTS_BUCKET", bucketName, (g) =>
      grantObjectsGet(g, this.exportsBucket, this.key, DEAD_LETTER_BODIES_PREFIX),
    );
    // The finance API reads the table only (its lines and reports are the close records): no bucket grant.
    // Each close writes its account's objects by period (D25), multipart past 5 MB (KMS Decrypt too).
    // The scheduler rewrites changed periods' manifests, exporting first any account missing its objects.
    for (const prefix of PERIOD_EXPORT_PREFIXES)
      for (const f of [closeWorker, closeScheduler])
        grantWithEnv(f.function, "EXPORTS_BUCKET", bucketName, (g) =>
          grantObjectsPut(g, this.exportsBucket, this.key, prefix, { multipart: true }),
        );

    // Schedules: retried, then dead-lettered to one encrypted queue (alarmed), each with its own role.
    this.scheduleDlq = secureQueue(this, "ScheduleDeadLetterQueue", {
      ...queueBase,
      terminal: {
        ...terminal,
        notADlqOfAQueue: "This queue is itself the dead-letter queue of the EventBridge Scheduler schedules",
      },
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
    // Without a Metering API URL (dev's default) the hourly report is off (the schedule disabled).
    const reporting = marketplaceApiUrl !== undefined;
    new scheduler.Schedule(this, "MarketplaceReporterSchedule", {
      description: reporting
        ? "Report marketplace usage every hour"
        : "Report marketplace usage every hour (off: this stage has no Metering API URL)",
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
      target: scheduleTarget("MarketplaceReporter", marketplaceReporter),
      enabled: reporting,
    });
    // The usage fold: its function, grants, one-minute schedule and alarm (constructs/usage-fold.ts).
    new UsageFold(this, "UsageFold", {
      function: common,
      table: this.table,
      key: this.key,
      ingestTimeout: INGEST_TIMEOUT,
      target: scheduleTarget,
    });

    // Alarms (constructs/alarms.ts; each notifies the alarm topic, docs/runbook.md says what to do).
    // A dead-letter queue's return to empty (redriven) is news: OK is sent too.
    notifyOnOk(
      alarmAbove(
        this,
        "UsageDlqNotEmptyAlarm",
        "Usage messages reached the dead-letter queue after 5 receives",
        queueDepth(this.usageDlq),
      ),
    );
    notifyOnOk(
      alarmAbove(
        this,
        "CloseDlqNotEmptyAlarm",
        `Close requests reached the close DLQ after ${CLOSE_MAX_RECEIVE_COUNT} receives (an account-period not closed)`,
        queueDepth(this.closeDlq),
      ),
    );
    // Emitted by the ingest handler (CloudWatch EMF) for each message that failed through our fault
    // or the platform's (never dead-lettered: returned to the queue); any one alarms.
    alarmAbove(
      this,
      "IngestErrorsAlarm",
      "Usage messages failed to ingest through our fault (throttling, AccessDenied, KMS, timeout, a bug): returned to the queue; the ingest log's ERROR lines name the cause",
      billingMetric(INGEST_UNEXPECTED_ERRORS_METRIC, cloudwatch.Stats.SUM),
    );
    ingestDeadLetterRateAlarm(this);
    alarmAbove(
      this,
      "IngestFunctionErrorsAlarm",
      "The ingest function failed (a whole batch failed, or it could not start): whole batch returned to the queue",
      ingestUsage.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    );
    // Marketplace reporting (D20), emitted by the reporter every run (EMF): any refusal, usage whose
    // hour expired (revenue lost: its own alarm, it needs another remedy than a refusal), an hour
    // still pending 20 hours after it ended, a run that left work undone (a call without answer, an
    // account not processed, batches left for the time budget), or a run that failed outright.
    for (const [id, metricName, description] of [
      [
        "MarketplaceRejectedEventsAlarm",
        MARKETPLACE_REJECTED_EVENTS_METRIC,
        "The Marketplace refused usage events (Expired or rejected): see the reporter log and billing marketplace reconcile",
      ],
      [
        "MarketplaceExpiredEventsAlarm",
        MARKETPLACE_EXPIRED_EVENTS_METRIC,
        "Marketplace usage expired (an hour reached after Microsoft's 24 hours, or answered Expired): revenue Microsoft will not bill; see billing marketplace reconcile (expired_quantity)",
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
    ] as const)
      alarmAbove(
        this,
        id,
        description,
        billingMetric(metricName, cloudwatch.Stats.MAXIMUM, { period: Duration.hours(1) }),
      );
    alarmAbove(
      this,
      "MarketplaceReporterErrorsAlarm",
      "The marketplace reporter function failed (an account could not be processed, or it could not start)",
      marketplaceReporter.function.metricErrors({
        period: Duration.hours(1),
        statistic: cloudwatch.Stats.SUM,
      }),
    );
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

    // cdk-nag findings answered otherwise, each on its resource with its reason (test/infra/nag.test.ts).
    Validations.of(this.accessLogsBucket).acknowledge({
      id: "AwsSolutions::AwsSolutions-S1",
      reason:
        "This bucket is the exports bucket's server access log target: logging its own writes would log forever",
    });
    for (const f of [ingestUsage, deadLetter])
      Validations.of(f.function.role!).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.exportsBucket.node.defaultChild as CfnElement)}.Arn>/${DEAD_LETTER_BODIES_PREFIX}*]`,
        reason: "Dead letters' whole bodies are objects named by their SHA-256 under this one prefix",
      });
    for (const prefix of PERIOD_EXPORT_PREFIXES)
      for (const f of [closeWorker, closeScheduler])
        Validations.of(f.function.role!).acknowledge({
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.exportsBucket.node.defaultChild as CfnElement)}.Arn>/${prefix}*]`,
          reason:
            "A period's exports (and its manifest) are objects under period=YYYY-MM/ of this prefix, one per account",
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
    new CfnOutput(this, "MarketplaceCredentialsSecretArn", { value: marketplaceCredentials.secretArn });
    new CfnOutput(this, "FinanceApiUrl", {
      value: this.financeApi.api.apiEndpoint,
      description: "BILLING_API_URL of the deployed stack: SigV4-signed GETs (execute-api:Invoke)",
    });
  }
}

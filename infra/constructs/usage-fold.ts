/**
 * The usage fold (docs/data-model.md, "Journal and fold"): a function run every minute by
 * EventBridge Scheduler that applies the committed journals of every fold shard due (its last run
 * five minutes old, or a volume of journals waiting) to the monthly
 * counters, pages and usage markers (functions/usage-fold/handler.ts), its exact grants, and an
 * alarm when it fails: the journals it has not applied are kept JOURNAL_RETENTION_MS (35 days),
 * and the close and the Marketplace reporter fold their own accounts meanwhile, but previews go
 * stale and the journal must never expire unfolded.
 */
import { fileURLToPath } from "node:url";
import { Aws, type CfnElement, Duration, Stack, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { alarmAbove } from "./alarms.js";
import { BillingFunction, type BillingFunctionProps } from "./billing-function.js";
import { grantQueueSend, grantTableItems, grantWithEnv, type TableAccess } from "./grants.js";

/**
 * What a fold run touches (the close worker and the Marketplace reporter fold their account's shard
 * too, so their rows include these): the shard's journals (JRNL#, Query) and state (FOLD#); commit
 * records read (BatchGetItem) and a dead attempt's aborted (PutItem, as the take-over); counter
 * bundles read and rewritten (CTR#: BatchGetItem, PutItem; UpdateItem for a counter outside its
 * bundle); pages (EVT#, BatchWriteItem); usage markers and late markers (ACCT#, UpdateItem); the
 * unclosed-usage index (UNCLOSED#, PutItem); close records read for the late check (BILL#).
 */
export const USAGE_FOLD_ACCESS: readonly TableAccess[] = [
  { actions: ["dynamodb:Query"], leadingKeys: ["JRNL#*"] },
  { actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], leadingKeys: ["FOLD#*"] },
  { actions: ["dynamodb:BatchGetItem", "dynamodb:PutItem"], leadingKeys: ["COMMIT#*"] },
  { actions: ["dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], leadingKeys: ["CTR#*"] },
  { actions: ["dynamodb:BatchWriteItem"], leadingKeys: ["EVT#*"] },
  { actions: ["dynamodb:UpdateItem"], leadingKeys: ["ACCT#*"] },
  { actions: ["dynamodb:PutItem"], leadingKeys: ["UNCLOSED#*"] },
  { actions: ["dynamodb:GetItem"], leadingKeys: ["BILL#*"] },
];

/** An ended account's late event: its account looked up (the fold's own function only). */
const ACCOUNT_LOOKUPS: readonly TableAccess[] = [
  { actions: ["dynamodb:GetItem", "dynamodb:Query"], leadingKeys: ["CFG#*"] },
];

export interface UsageFoldProps {
  /** The stack's common function settings (key, logs, removal policy, environment). */
  readonly function: Omit<BillingFunctionProps, "entry" | "description" | "timeout" | "memorySize">;
  readonly table: dynamodb.ITable;
  readonly key: kms.IKey;
  /** The ingest function's timeout: dead attempts are aborted past the same cut-off as ingest's. */
  readonly ingestTimeout: Duration;
  /** Where Scheduler sends the runs it could not deliver (the stack's schedule DLQ). */
  readonly deadLetterQueue: sqs.IQueue;
  /** The handler file (tests may replace it). */
  readonly entry?: string;
  /**
   * How far the folded state may lag (a shard is folded when its last run is this old, at the
   * minute's tick): previews and the finance API's month-to-date usage lag by at most this plus a
   * minute. Default 5 minutes.
   */
  readonly maxLag?: Duration;
  /** A shard whose journals since its last run hold this many events is folded at the next tick. */
  readonly volumeEvents?: number;
}

export const USAGE_FOLD_MEMORY_MB = 1024;

export class UsageFold extends Construct {
  readonly fold: BillingFunction;

  constructor(scope: Construct, id: string, props: UsageFoldProps) {
    super(scope, id);
    this.fold = new BillingFunction(this, "Function", {
      ...props.function,
      environment: {
        ...props.function.environment,
        INGEST_TIMEOUT_SECONDS: String(props.ingestTimeout.toSeconds()),
        FOLD_MAX_LAG_SECONDS: String((props.maxLag ?? Duration.minutes(5)).toSeconds()),
        FOLD_VOLUME_EVENTS: String(props.volumeEvents ?? 100_000),
      },
      entry: props.entry ?? fileURLToPath(new URL("../../functions/usage-fold/handler.ts", import.meta.url)),
      description:
        "Every minute: folds the usage journals of the shards due into the monthly counters and pages",
      // A tick folds the shards due (a few bounded runs each); a slow one is finished by the next
      // (runs are safe together).
      timeout: Duration.minutes(5),
      memorySize: USAGE_FOLD_MEMORY_MB,
    });
    grantWithEnv(this.fold.function, "BILLING_TABLE", props.table.tableName, (g) =>
      grantTableItems(g, props.table, props.key, [...USAGE_FOLD_ACCESS, ...ACCOUNT_LOOKUPS]),
    );
    // Its own role: may invoke this function and send to the schedule DLQ, nothing else.
    const role = new iam.Role(this, "ScheduleRole", {
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
      }),
      description: "EventBridge Scheduler invokes UsageFold",
    });
    grantQueueSend(role, props.deadLetterQueue, props.key);
    new scheduler.Schedule(this, "Schedule", {
      description: "Fold the committed usage journals into the monthly counters and pages",
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      target: new LambdaInvoke(this.fold.function, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        role,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: props.deadLetterQueue,
      }),
    });
    const functionId = Stack.of(this).getLogicalId(this.fold.function.node.defaultChild as CfnElement);
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason:
        "Scheduler may invoke any version or alias of this one function (LambdaInvoke grants the function ARN and its qualifiers)",
    });
    alarmAbove(
      this,
      "UsageFoldErrorsAlarm",
      "The usage fold failed for 15 minutes: previews and counters go stale, journals wait (docs/runbook.md)",
      this.fold.function.metricErrors({ period: Duration.minutes(15), statistic: cloudwatch.Stats.SUM }),
      10,
    );
  }
}

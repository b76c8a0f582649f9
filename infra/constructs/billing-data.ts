/**
 * Where the billing state lives: the stack's KMS key (it encrypts everything else), the single
 * DynamoDB table and its daily AWS Backup.
 *
 * These builders add their resources to the scope they are given (the stack), as secureQueue and
 * alarmAbove do, rather than under a construct of their own: a new level in the construct tree
 * would rename every logical ID, and CloudFormation would replace the table, the key and the
 * buckets of a deployed stack.
 */
import { Aws, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as backup from "aws-cdk-lib/aws-backup";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type { Construct } from "constructs";
import { EXPIRES_AT_ATTRIBUTE } from "../../shared/core/identity-retention.js";
import { viaService } from "./grants.js";
import type { StageSettings } from "./stage.js";

/**
 * The key of the stack's data, queues, logs and environment variables. CloudWatch Logs may use it
 * for this account's log groups; the producers' accounts only through SQS (sending to the usage queue).
 */
export function billingKey(
  scope: Construct,
  { removalPolicy, producers }: { removalPolicy: RemovalPolicy; producers: readonly string[] },
): kms.Key {
  const key = new kms.Key(scope, "BillingKey", {
    description:
      "Encrypts the billing table, queues, bucket, alarm topic, logs and Lambda environment variables",
    enableKeyRotation: true,
    removalPolicy,
  });
  // CloudWatch Logs encrypts the functions' log groups of this account and region with the key.
  key.addToResourcePolicy(
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
  if (producers.length > 0)
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "UsageProducersViaSqs",
        principals: producers.map((a) => new iam.AccountPrincipal(a)),
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: ["*"],
        conditions: { StringEquals: { "kms:ViaService": viaService("sqs") } },
      }),
    );
  return key;
}

/** The single table (`pk`/`sk`, on demand, PITR), capped and pre-warmed per stage. */
export function billingTable(scope: Construct, key: kms.IKey, settings: StageSettings): dynamodb.Table {
  return new dynamodb.Table(scope, "BillingTable", {
    partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
    sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
    deletionProtection: settings.deletionProtection,
    removalPolicy: settings.removalPolicy,
    // G5: identity claims and attempt records expire 400 days (and a day) after their event.
    timeToLiveAttribute: EXPIRES_AT_ATTRIBUTE,
    maxReadRequestUnits: settings.maxRequestUnits.read,
    maxWriteRequestUnits: settings.maxRequestUnits.write,
    ...(settings.warmThroughput ? { warmThroughput: settings.warmThroughput } : {}),
  });
}

/**
 * AWS Backup of the table (besides PITR's 35 days of restore points): a daily recovery point,
 * in a vault encrypted with the stack key. The vault is retained in every stage: AWS refuses to
 * delete a vault holding recovery points, and a backup must outlive the stack it saves.
 */
export function tableBackup(
  scope: Construct,
  { key, table, retentionDays }: { key: kms.IKey; table: dynamodb.ITable; retentionDays: number },
): backup.BackupPlan {
  const vault = new backup.BackupVault(scope, "BackupVault", {
    encryptionKey: key,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const plan = new backup.BackupPlan(scope, "TableBackupPlan", { backupVault: vault });
  plan.addRule(
    new backup.BackupPlanRule({
      ruleName: "Daily",
      scheduleExpression: events.Schedule.cron({ minute: "0", hour: "3" }),
      deleteAfter: Duration.days(retentionDays),
    }),
  );
  const selection = plan.addSelection("Table", {
    resources: [backup.BackupResource.fromDynamoDbTable(table)],
  });
  Validations.of(selection.grantPrincipal as iam.Role).acknowledge({
    id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
    reason:
      "AWS Backup's own service-role policy (what backup jobs need, kept current by AWS) on a role only backup.amazonaws.com assumes, selecting this one table",
  });
  return plan;
}

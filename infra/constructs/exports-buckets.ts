/**
 * The exports bucket — finance records by period (invoice lines, close reports) and dead letters'
 * whole bodies — and the bucket that logs who read or wrote them. Added to the given scope (the
 * stack), so their logical IDs stay those of the deployed buckets (billing-data.ts says why).
 */
import { type CfnElement, Duration, type RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";

/** Where dead letters' whole bodies go in the exports bucket (shared/app/dead-letters.ts). */
export const DEAD_LETTER_BODIES_PREFIX = "dead-letters/";
/** Where each close puts its invoice lines and report by period (shared/core/period-exports.ts). */
export const PERIOD_EXPORT_PREFIXES = ["invoice-lines/", "close-reports/"] as const;

/** Exports (and their older versions) move to cheaper classes as they age: [class, days]. */
export const EXPORTS_TRANSITIONS: readonly (readonly [s3.StorageClass, number])[] = [
  [s3.StorageClass.INFREQUENT_ACCESS, 90],
  [s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, 365],
];

export interface ExportsBucketsProps {
  readonly key: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
  /** `cdk destroy` empties the buckets first (dev). */
  readonly destroyable: boolean;
  /** The access logs are kept as long as the stage's logs. */
  readonly logRetention: logs.RetentionDays;
  /** Object Lock default retention (governance) of the exports; none: versions unlocked. */
  readonly lockDays: number | undefined;
}

export function exportsBuckets(
  scope: Construct,
  props: ExportsBucketsProps,
): { exportsBucket: s3.Bucket; accessLogsBucket: s3.Bucket } {
  const { key, removalPolicy, destroyable, lockDays } = props;
  // Server access logs of the exports bucket (S3 writes them; SSE-S3, the only encryption a log
  // target may have): who read or wrote which finance record, kept as long as the stage's logs.
  const accessLogsBucket = new s3.Bucket(scope, "ExportsAccessLogsBucket", {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    lifecycleRules: [{ expiration: Duration.days(props.logRetention) }],
    removalPolicy,
    autoDeleteObjects: destroyable,
  });
  Validations.of(accessLogsBucket).acknowledge({
    id: "AwsSolutions::AwsSolutions-S1",
    reason:
      "This bucket is the exports bucket's server access log target: logging its own writes would log forever",
  });
  // Finance records: every version kept, locked (governance) for the stage's retention; older
  // exports move to cheaper storage classes (still read in milliseconds).
  const exportsBucket = new s3.Bucket(scope, "ExportsBucket", {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: key,
    bucketKeyEnabled: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    versioned: true,
    objectLockEnabled: true,
    ...(lockDays === undefined
      ? {}
      : { objectLockDefaultRetention: s3.ObjectLockRetention.governance(Duration.days(lockDays)) }),
    serverAccessLogsBucket: accessLogsBucket,
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
  return { exportsBucket, accessLogsBucket };
}

/**
 * Acknowledges cdk-nag's wildcard finding for a role's objects grant under one prefix of the
 * exports bucket (the object names below it are not known in advance), with the reason.
 */
export function acknowledgePrefixGrant(
  role: iam.IRole,
  bucket: s3.Bucket,
  prefix: string,
  reason: string,
): void {
  const bucketId = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement);
  Validations.of(role).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
    reason,
  });
}

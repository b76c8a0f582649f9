/**
 * What a stage is: the settings that follow from `dev` or `prod` (retention, protection, capacity),
 * the per-stage deployment values from cdk.json (infra/app.ts), their validation before anything is
 * built, and the tags every resource carries.
 */
import { CfnResource, type IAspect, RemovalPolicy, TagManager } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import type { IConstruct } from "constructs";

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

/** A stage's values checked before anything is built: a bad one stops the synth with its name. */
export class StageConfigError extends Error {
  override readonly name = "StageConfigError";
}
export function validateStageConfig(
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

/**
 * The custom-resource providers CDK adds (the buckets' auto-delete in dev) are plain CfnResources
 * that `Tags.of` does not reach: their function and role get the same tags here.
 */
export class TagProviderResources implements IAspect {
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

/**
 * Azure Marketplace reporting: the Entra ID credentials secret, the hourly reporter that sends
 * overage to Microsoft's Metering API, its grants, schedule and alarms. Added to the given scope
 * (the stack), so the logical IDs stay those of the deployed resources (billing-data.ts says why).
 */
import { Duration, type RemovalPolicy, Validations } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import {
  MARKETPLACE_EXPIRED_EVENTS_METRIC,
  MARKETPLACE_INCOMPLETE_RUNS_METRIC,
  MARKETPLACE_OVERDUE_PENDING_METRIC,
  MARKETPLACE_REJECTED_EVENTS_METRIC,
} from "../../shared/runtime/observability.js";
import { alarmAbove, billingMetric } from "./alarms.js";
import { BillingFunction } from "./billing-function.js";
import type { BillingParts } from "./function-set.js";
import { grantWithEnv } from "./grants.js";
import { hourlySchedule } from "./schedules.js";
import type { StageConfig } from "./stage.js";

/** An RFC 2606 reserved name: never resolves, so a stage without a Metering API URL reports nowhere. */
export const NO_MARKETPLACE_API_URL = "https://marketplace-reporting-off.invalid";

/**
 * The publisher's Entra ID application for the Metering API: JSON { tenantId, clientId,
 * clientSecret } (tenant and client may come from the stage instead), filled in by the operator
 * after deployment — or an existing secret the stage names.
 */
export function marketplaceCredentials(
  scope: Construct,
  { config, key, removalPolicy }: { config: StageConfig; key: kms.IKey; removalPolicy: RemovalPolicy },
): secretsmanager.ISecret {
  if (config.marketplaceSecretArn)
    return secretsmanager.Secret.fromSecretCompleteArn(
      scope,
      "MarketplaceCredentials",
      config.marketplaceSecretArn,
    );
  const secret = new secretsmanager.Secret(scope, "MarketplaceCredentials", {
    description:
      "Entra ID application of the Azure Marketplace publisher: JSON { tenantId, clientId, clientSecret }",
    encryptionKey: key,
    removalPolicy,
  });
  Validations.of(secret).acknowledge({
    id: "AwsSolutions::AwsSolutions-SMG4",
    reason:
      "The Entra ID client secret is issued and rotated in Microsoft Entra ID (its expiry is set there); the runbook says how to update this secret, which the reporter re-reads after a 401",
  });
  return secret;
}

/**
 * The hourly reporter. Without a Metering API URL (dev's default) it points at a name that never
 * resolves (and its schedule is off: marketplaceSchedule).
 */
export function marketplaceReporterFunction(
  scope: Construct,
  parts: BillingParts,
  { config, marketplaceApiUrl }: { config: StageConfig; marketplaceApiUrl: string | undefined },
): BillingFunction {
  const { common } = parts;
  return new BillingFunction(scope, "MarketplaceReporter", {
    ...common,
    environment: {
      ...common.environment,
      MARKETPLACE_API_URL: marketplaceApiUrl ?? NO_MARKETPLACE_API_URL,
      ...(config.entraAuthority ? { ENTRA_AUTHORITY: config.entraAuthority } : {}),
      ...(config.entraTenantId ? { ENTRA_TENANT_ID: config.entraTenantId } : {}),
      ...(config.entraClientId ? { ENTRA_CLIENT_ID: config.entraClientId } : {}),
    },
    entry: parts.entries.marketplaceReporter,
    description: "Reports rated usage to the marketplace metering API every hour",
    timeout: Duration.minutes(5),
    // One run at a time: two runs would send the same hours twice (the second gets Duplicate).
    reservedConcurrency: 1,
  });
}

/** The credentials secret: read, with the variable naming it. */
export function wireMarketplaceReporting({
  reporter,
  credentials,
}: {
  reporter: BillingFunction;
  credentials: secretsmanager.ISecret;
}): void {
  grantWithEnv(reporter.function, "MARKETPLACE_CREDENTIALS_SECRET_ARN", credentials.secretArn, (g) =>
    credentials.grantRead(g),
  );
}

/** Hourly; disabled when the stage has no Metering API URL. */
export function marketplaceSchedule(
  scope: Construct,
  props: { reporter: BillingFunction; reporting: boolean; deadLetterQueue: sqs.IQueue; key: kms.IKey },
) {
  return hourlySchedule(scope, {
    name: "MarketplaceReporter",
    description: props.reporting
      ? "Report marketplace usage every hour"
      : "Report marketplace usage every hour (off: this stage has no Metering API URL)",
    function: props.reporter,
    deadLetterQueue: props.deadLetterQueue,
    key: props.key,
    enabled: props.reporting,
  });
}

/**
 * Emitted by the reporter every run (EMF): any refusal, usage whose hour expired (revenue lost: its
 * own alarm, it needs another remedy than a refusal), an hour still pending 20 hours after it
 * ended, a run that left work undone (a call without answer, an account not processed, batches left
 * for the time budget), or a run that failed outright.
 */
export function marketplaceAlarms(scope: Construct, reporter: BillingFunction): void {
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
      scope,
      id,
      description,
      billingMetric(metricName, cloudwatch.Stats.MAXIMUM, { period: Duration.hours(1) }),
    );
  alarmAbove(
    scope,
    "MarketplaceReporterErrorsAlarm",
    "The marketplace reporter function failed (an account could not be processed, or it could not start)",
    reporter.function.metricErrors({ period: Duration.hours(1), statistic: cloudwatch.Stats.SUM }),
  );
}

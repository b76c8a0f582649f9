/**
 * CDK app: `npx cdk synth -c stage=dev|prod` (cdk.json runs this file with tsx; default prod). Each
 * stage is its own stack (`CpaasBilling-<stage>`), so dev and prod can share an account. Its values
 * come from cdk.json's `stages.<stage>` and any `-c name=value` given on the command line (which
 * wins): marketplaceApiUrl, entraAuthority, entraTenantId, entraClientId, marketplaceSecretArn,
 * alarmEmail, pagerUrl, producerAccountIds (comma-separated), costCentre, exportsLockDays;
 * `closeOverdueHours` (default 6) for the period-not-closed alarms. The cdk-nag AwsSolutions and
 * Serverless packs check the app at every synth: a finding without an acknowledgement (with its
 * reason, on its resource) stops the synth.
 */
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { BillingStack, DEFAULT_CLOSE_OVERDUE_HOURS, type StageConfig } from "./billing-stack.js";

const app = new App();

const stage: unknown = app.node.tryGetContext("stage") ?? "prod";
if (stage !== "dev" && stage !== "prod")
  throw new Error(`context "stage" must be dev or prod, not ${String(stage)}`);

const stages = (app.node.tryGetContext("stages") ?? {}) as Record<string, Record<string, unknown>>;
const fromFile = stages[stage] ?? {};
/** A value of the stage: `-c name=value` first, then cdk.json's `stages.<stage>.name`. */
const value = (name: keyof StageConfig): unknown => app.node.tryGetContext(name) ?? fromFile[name];
const text = (name: keyof StageConfig): string | undefined => {
  const v = value(name);
  if (v === undefined || v === "") return undefined;
  if (typeof v !== "string") throw new Error(`stage value "${name}" must be a string`);
  return v;
};
const producers = value("producerAccountIds");
const lockDays = value("exportsLockDays");
const config: StageConfig = {
  marketplaceApiUrl: text("marketplaceApiUrl"),
  entraAuthority: text("entraAuthority"),
  entraTenantId: text("entraTenantId"),
  entraClientId: text("entraClientId"),
  marketplaceSecretArn: text("marketplaceSecretArn"),
  alarmEmail: text("alarmEmail"),
  pagerUrl: text("pagerUrl"),
  costCentre: text("costCentre"),
  producerAccountIds: Array.isArray(producers)
    ? producers.map(String)
    : typeof producers === "string"
      ? producers
          .split(",")
          .map((p) => p.trim())
          .filter(Boolean)
      : [],
  exportsLockDays: lockDays === undefined ? undefined : Number(lockDays),
};

// Hours after a period's end (in the account's zone) past which a close is overdue.
const closeOverdueHours = Number(app.node.tryGetContext("closeOverdueHours") ?? DEFAULT_CLOSE_OVERDUE_HOURS);

new BillingStack(app, `CpaasBilling-${stage}`, {
  description: `CPaaS usage rating and billing (${stage}): SQS -> Lambda -> DynamoDB, period close, marketplace reporting`,
  stage,
  config,
  closeOverdueHours,
  ...(process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
    ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }
    : {}),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));

app.synth();

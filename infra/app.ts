/**
 * CDK app: `npx cdk synth` (cdk.json runs this file with tsx). Context `stage` = dev | prod (default
 * prod); `closeOverdueHours` (default 6) for the period-not-closed alarms. The cdk-nag AwsSolutions and Serverless packs check the app at every synth: a finding
 * without an acknowledgement (with its reason, on its resource) stops the synth.
 */
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { BillingStack, DEFAULT_CLOSE_OVERDUE_HOURS } from "./billing-stack.js";

const app = new App();

const stage: unknown = app.node.tryGetContext("stage") ?? "prod";
if (stage !== "dev" && stage !== "prod")
  throw new Error(`context "stage" must be dev or prod, not ${String(stage)}`);

const marketplaceApiUrl: unknown = app.node.tryGetContext("marketplaceApiUrl");
if (typeof marketplaceApiUrl !== "string" || marketplaceApiUrl === "")
  throw new Error('set the context value "marketplaceApiUrl" (cdk.json or -c marketplaceApiUrl=...)');

// Hours after a period's end (in the account's zone) past which a close is overdue (D28).
const closeOverdueHours = Number(app.node.tryGetContext("closeOverdueHours") ?? DEFAULT_CLOSE_OVERDUE_HOURS);

new BillingStack(app, "CpaasBilling", {
  description:
    "CPaaS usage rating and billing: SQS -> Lambda -> DynamoDB, period close, marketplace reporting",
  marketplaceApiUrl,
  stage,
  closeOverdueHours,
  ...(process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
    ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }
    : {}),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));

app.synth();

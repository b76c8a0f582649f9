/** CDK app: `npx cdk synth` (cdk.json runs this file with tsx). */
import { App } from "aws-cdk-lib";
import { BillingStack } from "./billing-stack.js";

const app = new App();

const marketplaceApiUrl: unknown = app.node.tryGetContext("marketplaceApiUrl");
if (typeof marketplaceApiUrl !== "string" || marketplaceApiUrl === "")
  throw new Error('set the context value "marketplaceApiUrl" (cdk.json or -c marketplaceApiUrl=...)');

new BillingStack(app, "CpaasBilling", {
  description:
    "CPaaS usage rating and billing: SQS -> Lambda -> DynamoDB, period close, marketplace reporting",
  marketplaceApiUrl,
  ...(process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
    ? { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }
    : {}),
});

app.synth();

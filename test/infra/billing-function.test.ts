import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import { beforeAll, describe, expect, it } from "vitest";
import { BillingFunction, ESM_REQUIRE_BANNER } from "../../infra/constructs/billing-function.js";
import { expectTlsOnlyQueue, logicalIdOf, useOutdir } from "../support/cdk.js";

const fixture = fileURLToPath(new URL("./fixtures/echo-handler.ts", import.meta.url));

type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }
>;

describe("BillingFunction", () => {
  let stack: Stack;
  let template: Template;
  let defaults: BillingFunction;
  let custom: BillingFunction;

  const assemblyDir = useOutdir("billing-function-test-");

  beforeAll(() => {
    const app = new App({ outdir: assemblyDir() });
    stack = new Stack(app, "FunctionTest");
    const key = new kms.Key(stack, "Key", { enableKeyRotation: true });
    defaults = new BillingFunction(stack, "Defaults", {
      entry: fixture,
      description: "defaults",
      encryptionKey: key,
      environment: { BILLING_TABLE: "t" },
    });
    custom = new BillingFunction(stack, "Custom", {
      entry: fixture,
      description: "custom",
      encryptionKey: key,
      timeout: Duration.seconds(90),
      memorySize: 1024,
      reservedConcurrency: 3,
      environment: { NODE_OPTIONS: "--enable-source-maps --max-old-space-size=900", EXTRA: "x" },
      logRetention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    template = Template.fromStack(stack);
  });

  it("applies the defaults: arm64, nodejs22.x, 30 s, 512 MB, active tracing, KMS-encrypted environment", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: "defaults",
      Architectures: ["arm64"],
      Runtime: "nodejs22.x",
      Handler: "index.handler",
      Timeout: 30,
      MemorySize: 512,
      TracingConfig: { Mode: "Active" },
      KmsKeyArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^Key"), "Arn"] },
      LoggingConfig: { LogGroup: { Ref: logicalIdOf(defaults.logGroup) } },
      // Only variables something reads: the Powertools Logger reads POWERTOOLS_SERVICE_NAME and LOG_LEVEL.
      Environment: {
        Variables: Match.objectEquals({
          NODE_OPTIONS: "--enable-source-maps",
          POWERTOOLS_SERVICE_NAME: "cpaas-billing",
          LOG_LEVEL: "INFO",
          BILLING_TABLE: "t",
        }),
      },
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it("creates an explicit log group with one month retention, retained by default", () => {
    template.hasResource("AWS::Logs::LogGroup", {
      Properties: { RetentionInDays: 30 },
      DeletionPolicy: "Retain",
    });
  });

  it("sends failed async invocations to a KMS-encrypted, TLS-only queue", () => {
    const queueId = logicalIdOf(defaults.failureQueue);
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: logicalIdOf(defaults.function) },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [queueId, "Arn"] } } },
    });
    const queue = (template.toJSON().Resources as Resources)[queueId];
    expect(queue?.Properties?.KmsMasterKeyId).toEqual({
      "Fn::GetAtt": [expect.stringMatching(/^Key/), "Arn"],
    });
    expectTlsOnlyQueue(template, queueId);
  });

  it("honours overrides of timeout, memory, reserved concurrency, environment, retention and removal", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: "custom",
      Timeout: 90,
      MemorySize: 1024,
      ReservedConcurrentExecutions: 3,
      Environment: {
        Variables: Match.objectEquals({
          NODE_OPTIONS: "--enable-source-maps --max-old-space-size=900",
          POWERTOOLS_SERVICE_NAME: "cpaas-billing",
          LOG_LEVEL: "INFO",
          EXTRA: "x",
        }),
      },
    });
    const resources = template.toJSON().Resources as Resources;
    const logGroup = resources[logicalIdOf(custom.logGroup)];
    expect(logGroup?.Properties?.RetentionInDays).toBe(7);
    expect(logGroup?.DeletionPolicy).toBe("Delete");
    expect(resources[logicalIdOf(custom.failureQueue)]?.DeletionPolicy).toBe("Delete");
  });

  it("bundles locally with esbuild into minified ESM with a require banner, a source map and the SDK external", () => {
    const fn = (template.toJSON().Resources as Resources)[logicalIdOf(defaults.function)];
    const s3Key = (fn?.Properties?.Code as { S3Key?: string } | undefined)?.S3Key ?? "missing";
    const assetDir = join(assemblyDir(), `asset.${s3Key.replace(/\.zip$/, "")}`);
    const bundle = readFileSync(join(assetDir, "index.mjs"), "utf8");
    expect(bundle.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(existsSync(join(assetDir, "index.mjs.map"))).toBe(true);
    expect(bundle).toMatch(/from\s*"@aws-sdk\/client-sqs"/);
    expect(bundle.length).toBeLessThan(2_000);
    expect(bundle).toMatch(/export\s*\{[^}]*as handler/);
  });

  it("grants no wildcard actions and only X-Ray on a wildcard resource", () => {
    for (const [, policy] of Object.entries(template.findResources("AWS::IAM::Policy"))) {
      const statements = (policy.Properties.PolicyDocument.Statement ?? []) as {
        Action: string | string[];
        Resource: unknown;
      }[];
      for (const s of statements) {
        const actions = [s.Action].flat();
        expect(actions).not.toContain("*");
        if (s.Resource === "*") for (const a of actions) expect(a).toMatch(/^xray:Put/);
      }
    }
  });

  it("synthesizes without warnings or errors", () => {
    Annotations.fromStack(stack).hasNoWarning("*", Match.anyValue());
    Annotations.fromStack(stack).hasNoError("*", Match.anyValue());
  });
});

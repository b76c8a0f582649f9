/**
 * The marketplace parts of the stack (issue 11): the MarketplaceCredentials secret, its ARN
 * in the reporter's environment and the reporter's read grant, and the alarms on the metrics the
 * reporter emits — compared with the EMF document the real handler writes.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { runMetrics } from "../../functions/marketplace-reporter/handler.js";
import { BillingStack } from "../../infra/billing-stack.js";
import type { MarketplaceRunReport } from "../../shared/app/report-marketplace-usage.js";
import {
  MARKETPLACE_EXPIRED_EVENTS_METRIC,
  MARKETPLACE_INCOMPLETE_RUNS_METRIC,
  MARKETPLACE_OVERDUE_PENDING_METRIC,
  MARKETPLACE_REJECTED_EVENTS_METRIC,
  METRICS_NAMESPACE,
  SERVICE_NAME,
} from "../../shared/runtime/observability.js";
import { captureOutput, emfDocuments } from "../support/capture-output.js";
import { logicalIdOf, useOutdir } from "../support/cdk.js";

const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
  context: Record<string, unknown>;
};
// A small handler for every function: this test looks at the stack, not at bundling.
const fixture = fileURLToPath(new URL("./fixtures/echo-handler.ts", import.meta.url));

describe("BillingStack: marketplace credentials and alarms", () => {
  const outdir = useOutdir("marketplace-stack-test-");
  let stack: BillingStack;
  let template: Template;

  beforeAll(() => {
    const app = new App({ context: cdkJson.context, outdir: outdir() });
    stack = new BillingStack(app, "CpaasBilling", {
      marketplaceApiUrl: "https://marketplaceapi.microsoft.com",
      entries: {
        ingestUsage: fixture,
        closeScheduler: fixture,
        closeWorker: fixture,
        marketplaceReporter: fixture,
        deadLetter: fixture,
      },
    });
    template = Template.fromStack(stack);
  });

  it("keeps the Entra ID credentials in a retained, KMS-encrypted secret the reporter alone may read, by ARN", () => {
    const secrets = template.findResources("AWS::SecretsManager::Secret");
    expect(Object.keys(secrets)).toHaveLength(1);
    const [secretId, secret] = Object.entries(secrets)[0]!;
    expect(secretId).toMatch(/^MarketplaceCredentials/);
    expect(secret.DeletionPolicy).toBe("Retain");
    expect(secret.Properties.KmsKeyId).toEqual({ "Fn::GetAtt": [logicalIdOf(stack.key), "Arn"] });
    const reporter = template.toJSON().Resources[logicalIdOf(stack.functions.marketplaceReporter.function)];
    expect(reporter.Properties.Environment.Variables.MARKETPLACE_CREDENTIALS_SECRET_ARN).toEqual({
      Ref: secretId,
    });
    const readers = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).some(
        (s) =>
          [s.Action].flat().includes("secretsmanager:GetSecretValue") &&
          JSON.stringify(s.Resource) === JSON.stringify({ Ref: secretId }),
      ),
    );
    expect(readers.map((p) => p.Properties.Roles)).toEqual([
      [{ Ref: logicalIdOf(stack.functions.marketplaceReporter.function.role!) }],
    ]);
    for (const name of ["ingestUsage", "closeScheduler", "closeWorker", "deadLetter"] as const) {
      const vars =
        template.toJSON().Resources[logicalIdOf(stack.functions[name].function)].Properties.Environment
          .Variables;
      expect(vars.MARKETPLACE_CREDENTIALS_SECRET_ARN).toBeUndefined();
    }
  });

  it("alarms on each marketplace metric exactly as the reporter emits it, and on the reporter's errors", async () => {
    const report = {
      rejectedEvents: 2,
      expiredEvents: 1,
      overduePending: 1,
      callErrors: ["HTTP 503"],
      unsentForTimeBudget: 0,
      accounts: [],
    } as unknown as MarketplaceRunReport;
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
    const run = await captureOutput(async () => {
      for (const [name, value] of Object.entries(runMetrics(report)))
        metrics.addMetric(name, MetricUnit.Count, value);
      metrics.publishStoredMetrics();
    });
    const [emf] = emfDocuments(run.stdout);
    const directive = emf?._aws.CloudWatchMetrics[0];
    expect(directive?.Metrics.map((m) => m.Name).sort()).toEqual(
      [
        MARKETPLACE_EXPIRED_EVENTS_METRIC,
        MARKETPLACE_INCOMPLETE_RUNS_METRIC,
        MARKETPLACE_OVERDUE_PENDING_METRIC,
        MARKETPLACE_REJECTED_EVENTS_METRIC,
      ].sort(),
    );
    expect([
      emf?.[MARKETPLACE_REJECTED_EVENTS_METRIC],
      emf?.[MARKETPLACE_EXPIRED_EVENTS_METRIC],
      emf?.[MARKETPLACE_OVERDUE_PENDING_METRIC],
      emf?.[MARKETPLACE_INCOMPLETE_RUNS_METRIC],
    ]).toEqual([2, 1, 1, 1]);
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm"));
    for (const name of directive?.Metrics.map((m) => m.Name) ?? []) {
      const watching = alarms.filter((a) => a.Properties.MetricName === name);
      expect(watching).toHaveLength(1);
      expect(watching[0]?.Properties).toMatchObject({
        Namespace: directive?.Namespace,
        Dimensions: (directive?.Dimensions[0] ?? []).map((Name) => ({ Name, Value: emf?.[Name] })),
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
      });
    }
    expect(
      alarms.filter(
        (a) =>
          a.Properties.MetricName === "Errors" &&
          JSON.stringify(a.Properties.Dimensions) ===
            JSON.stringify([
              {
                Name: "FunctionName",
                Value: { Ref: logicalIdOf(stack.functions.marketplaceReporter.function) },
              },
            ]),
      ),
    ).toHaveLength(1);
  });
});

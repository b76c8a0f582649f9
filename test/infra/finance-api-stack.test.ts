/**
 * The finance API in the stack: an HTTP API whose every route requires IAM
 * authorization, integrated with the finance-api function (payload 2.0), JSON access logs in an
 * encrypted log group, stage throttling; invoked only by this API. The function's exact IAM policy is
 * pinned with the others' in billing-stack.test.ts; cdk-nag in nag-and-stages.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingFunctionName, BillingStack } from "../../infra/billing-stack.js";
import { FINANCE_API_PATHS, FINANCE_API_THROTTLE } from "../../infra/constructs/finance-api.js";

const fixture = fileURLToPath(new URL("./fixtures/echo-handler.ts", import.meta.url));
const context = (
  JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
    context: Record<string, unknown>;
  }
).context;

type Resource = { Type: string; Properties: Record<string, unknown> };

describe("finance API in the stack", () => {
  let outdir: string;
  let stack: BillingStack;
  let template: Template;
  const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  const ofType = (type: string) =>
    Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(
      ([, r]) => r.Type === type,
    );

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), "billing-finance-api-test-"));
    const entries = Object.fromEntries(
      ["ingestUsage", "closeScheduler", "closeWorker", "marketplaceReporter", "deadLetter", "financeApi"].map(
        (n) => [n, fixture],
      ),
    ) as Record<BillingFunctionName, string>;
    stack = new BillingStack(new App({ context, outdir }), "CpaasBilling", {
      marketplaceApiUrl: "https://marketplace.test",
      entries,
    });
    template = Template.fromStack(stack);
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("is one HTTP API whose every route, the $default catch-all included, requires AWS_IAM and invokes the finance function with payload 2.0", () => {
    const apis = ofType("AWS::ApiGatewayV2::Api");
    expect(apis).toHaveLength(1);
    expect(apis[0]?.[1].Properties.ProtocolType).toBe("HTTP");
    const apiRef = { Ref: id(stack.financeApi.api) };

    const integrations = ofType("AWS::ApiGatewayV2::Integration");
    expect(integrations).toHaveLength(1);
    const [integrationId, integration] = integrations[0] as [string, Resource];
    expect(integration.Properties).toMatchObject({
      ApiId: apiRef,
      IntegrationType: "AWS_PROXY",
      PayloadFormatVersion: "2.0",
      IntegrationUri: { "Fn::GetAtt": [id(stack.functions.financeApi.function), "Arn"] },
    });

    const routes = ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(
      ["$default", ...FINANCE_API_PATHS.map((p) => `ANY ${p}`)].sort(),
    );
    for (const r of routes) {
      expect(r.AuthorizationType, String(r.RouteKey)).toBe("AWS_IAM");
      expect(r.ApiId).toEqual(apiRef);
      expect(r.Target).toEqual({ "Fn::Join": ["", ["integrations/", { Ref: integrationId }]] });
    }
    // The usage preview and the CSV route are among them.
    expect(routes.map((r) => r.RouteKey)).toContain("ANY /accounts/{accountId}/usage");
    expect(routes.map((r) => r.RouteKey)).toContain("ANY /periods/{period}/invoice-lines");
    template.hasOutput("FinanceApiUrl", {
      Value: { "Fn::GetAtt": [id(stack.financeApi.api), "ApiEndpoint"] },
    });
  });

  it("the $default stage auto-deploys, throttles and writes JSON access logs naming the IAM caller to an encrypted log group", () => {
    const stages = ofType("AWS::ApiGatewayV2::Stage");
    expect(stages).toHaveLength(1);
    const stage = stages[0]?.[1].Properties as Record<string, unknown> & {
      AccessLogSettings: { DestinationArn: unknown; Format: string };
    };
    expect(stage).toMatchObject({
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: FINANCE_API_THROTTLE.rateLimit,
        ThrottlingBurstLimit: FINANCE_API_THROTTLE.burstLimit,
      },
    });
    expect(stage.AccessLogSettings.DestinationArn).toEqual({
      "Fn::GetAtt": [id(stack.financeApi.accessLogs), "Arn"],
    });
    expect(JSON.parse(stage.AccessLogSettings.Format)).toMatchObject({
      requestId: "$context.requestId",
      caller: "$context.identity.userArn",
      routeKey: "$context.routeKey",
      status: "$context.status",
    });
    const logGroup = (template.toJSON().Resources as Record<string, Resource>)[
      id(stack.financeApi.accessLogs)
    ];
    expect(logGroup?.Properties).toMatchObject({
      KmsKeyId: { "Fn::GetAtt": [id(stack.key), "Arn"] },
      RetentionInDays: 365,
    });
  });

  it("only API Gateway, from this API, may invoke the finance function; its timeout ends before the integration's 30 s", () => {
    const fn = { "Fn::GetAtt": [id(stack.functions.financeApi.function), "Arn"] };
    const permissions = ofType("AWS::Lambda::Permission")
      .map(([, p]) => p.Properties)
      .filter((p) => JSON.stringify(p.FunctionName) === JSON.stringify(fn));
    expect(permissions.length).toBe(FINANCE_API_PATHS.length + 1);
    for (const p of permissions) {
      expect(p.Principal).toBe("apigateway.amazonaws.com");
      expect(p.Action).toBe("lambda:InvokeFunction");
      expect(JSON.stringify(p.SourceArn)).toContain(id(stack.financeApi.api));
    }
    const props = (template.toJSON().Resources as Record<string, Resource>)[
      id(stack.functions.financeApi.function)
    ]?.Properties;
    expect(props?.Timeout).toBeLessThan(30);
  });
});

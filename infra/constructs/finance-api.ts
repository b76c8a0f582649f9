/**
 * The finance API (issue 10 item 2): an API Gateway HTTP API whose every route —
 * the $default catch-all included, so unknown paths get the handler's problem+json 404 — requires
 * IAM authorization (SigV4: callers need `execute-api:Invoke` on the route), with JSON access logs
 * in an encrypted log group and stage throttling, in front of one read-only BillingFunction.
 * The function's grants (table items per key prefix, export objects) are given by the stack.
 */
import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { BillingFunction, type BillingFunctionProps } from "./billing-function.js";

/** The routes (shared/app/finance-api.ts); each also answers 405 problem+json to other methods. */
export const FINANCE_API_PATHS = [
  "/periods/{period}/invoice-lines",
  "/periods/{period}/close-report",
  "/periods/{period}/report.html",
  "/accounts/{accountId}/usage",
  "/invoice-lines/{lineId}/explanation",
] as const;

/**
 * Requests per second over the whole API, and the burst: finance reads a period a few times a
 * month, and each request walks many accounts, so a runaway client is stopped before it takes
 * the table's read capacity from ingest and the close.
 */
export const FINANCE_API_THROTTLE = { rateLimit: 10, burstLimit: 20 } as const;

/** API Gateway's integration timeout is 30 s: the function stops first and API Gateway answers 500. */
const FUNCTION_TIMEOUT = Duration.seconds(29);

export interface FinanceApiProps {
  /** The handler's BillingFunction settings (entry, key, environment, logs). */
  readonly function: Omit<BillingFunctionProps, "timeout" | "description">;
  readonly key: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class FinanceApi extends Construct {
  readonly handler: BillingFunction;
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FinanceApiProps) {
    super(scope, id);
    this.handler = new BillingFunction(this, "FinanceApiFunction", {
      ...props.function,
      description: "Finance API (HTTP API, IAM auth): closed periods' lines and reports, month-to-date usage",
      timeout: FUNCTION_TIMEOUT,
      memorySize: 1024,
    });
    const integration = new HttpLambdaIntegration("Handler", this.handler.function, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    this.api = new apigwv2.HttpApi(this, "Api", {
      description: "Finance API of the billing stack (IAM authorization on every route)",
      defaultAuthorizer: new HttpIamAuthorizer(),
      defaultIntegration: integration,
      // The stage below carries throttling and access logs.
      createDefaultStage: false,
    });
    for (const path of FINANCE_API_PATHS)
      this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.ANY], integration });

    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      encryptionKey: props.key,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stage = new apigwv2.HttpStage(this, "DefaultStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: FINANCE_API_THROTTLE,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        // One JSON object per request: who called (the IAM principal), what, and how it ended.
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            requestTime: "$context.requestTime",
            caller: "$context.identity.userArn",
            sourceIp: "$context.identity.sourceIp",
            method: "$context.httpMethod",
            routeKey: "$context.routeKey",
            path: "$context.path",
            status: "$context.status",
            responseLength: "$context.responseLength",
            latencyMs: "$context.responseLatency",
            integrationError: "$context.integrationErrorMessage",
            authorizerError: "$context.authorizer.error",
          }),
        ),
      },
    });
  }
}

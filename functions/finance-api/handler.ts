/**
 * API Gateway HTTP API (payload 2.0, IAM authorization) → the finance API (shared/app/finance-api.ts,
 * decisions D27): read-only routes over closed periods and the month-to-date preview. Bodies are
 * strings (an HTTP API cannot stream a Lambda response): CSV comes in pages of at most
 * LAMBDA_MAX_BODY_BYTES with a `Link: rel="next"` header. An unexpected failure is logged and thrown:
 * API Gateway answers 500.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import {
  createFinanceApi,
  type FinanceApiDeps,
  type FinanceApiOptions,
} from "../../shared/app/finance-api.js";
import { readEnvironment } from "../../shared/runtime/environment.js";
import { SERVICE_NAME } from "../../shared/runtime/observability.js";
import { lambdaTable } from "../../shared/runtime/wiring.js";

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME });

/** The finance API as the Lambda runs it: each request logged with its route, status and caller. */
export function createFinanceApiHandler(deps: FinanceApiDeps, opts: FinanceApiOptions = {}) {
  const api = createFinanceApi(deps, opts);
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const request = {
      method: event.requestContext.http.method,
      path: event.rawPath,
      requestId: event.requestContext.requestId,
    };
    try {
      const r = await api(event);
      logger.info("finance API request", { ...request, status: r.statusCode });
      return r;
    } catch (e) {
      logger.error("finance API request failed", { ...request, error: e as Error });
      throw e;
    }
  };
}

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;
let lambdaHandler: Handler | undefined;
export const handler: Handler = (event, context) => {
  if (!lambdaHandler) {
    // Accounts and tariffs cached per container (CONFIG_CACHE_SECONDS): a request walks a period's
    // accounts, never reloading them per account.
    const { store, config } = lambdaTable(readEnvironment());
    lambdaHandler = middy(
      createFinanceApiHandler({ periods: store, usage: store.usage, config, explanations: store }),
    );
  }
  return lambdaHandler(event, context);
};

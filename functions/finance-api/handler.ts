/**
 * API Gateway HTTP API (payload 2.0, IAM authorization) → the finance API (shared/app/finance-api.ts):
 * read-only routes over closed periods and the month-to-date preview. Bodies are
 * strings (an HTTP API cannot stream a Lambda response): CSV comes in pages of at most
 * LAMBDA_MAX_BODY_BYTES with a `Link: rel="next"` header. An unexpected failure is logged and thrown:
 * API Gateway answers 500.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import {
  createFinanceApi,
  type FinanceApiDeps,
  type FinanceApiOptions,
} from "../../shared/app/finance-api.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { financeApiEnvironmentSchema } from "../../shared/runtime/environment.js";
import { type AwsClients, lambdaEntry, logger } from "../../shared/runtime/lambda-entry.js";
import { cachedConfig } from "../../shared/runtime/wiring.js";

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

/** The Lambda's wiring (also run by the grants test against DynamoDB Local). */
export function financeApiDeps(
  env: { BILLING_TABLE: string; CONFIG_CACHE_SECONDS: number },
  clients: Pick<AwsClients, "dynamo">,
  clock: Clock = systemClock,
): FinanceApiDeps {
  const store = new DynamoBillingStore(clients.dynamo, env.BILLING_TABLE);
  // Accounts and tariffs cached per container (CONFIG_CACHE_SECONDS): a request walks a period's
  // accounts, never reloading them per account.
  const config = cachedConfig(store, clock, env.CONFIG_CACHE_SECONDS * 1000);
  return { periods: store, usage: store.usage, config, explanations: store };
}

export const handler = lambdaEntry(financeApiEnvironmentSchema, (env, clients) =>
  createFinanceApiHandler(financeApiDeps(env, clients)),
);

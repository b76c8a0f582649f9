/**
 * Scheduled hourly (and invokable by hand): reports the usage of azure-marketplace accounts above
 * their plans' included quantities to the Microsoft Marketplace Metering API, one usage event per
 * dimension and completed hour, catching up on missed hours still within 24 hours
 * (shared/app/report-marketplace-usage.ts). Input `{ "accountIds"?: [...] }`.
 *
 * Environment: BILLING_TABLE, MARKETPLACE_API_URL (https://marketplaceapi.microsoft.com, or the
 * local emulator); for a token, AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (the
 * publisher's Entra ID app); without them calls carry no token (local emulator).
 *
 * The run's outcome is returned and logged as one JSON line; events refused by the Marketplace
 * (expired, rejected) and calls without an answer are logged at ERROR level for the alarms. The
 * function throws only when an account could not be processed at all, so the scheduler retries
 * (a rerun is idempotent).
 */
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { DynamoMarketplaceStore } from "../../shared/adapters/dynamodb/marketplace-store.js";
import {
  entraTokenProvider,
  HttpMeteringClient,
} from "../../shared/adapters/marketplace/http-metering-client.js";
import {
  type MarketplaceReporterDeps,
  type MarketplaceRunReport,
  reportMarketplaceUsage,
} from "../../shared/app/report-marketplace-usage.js";
import { systemClock } from "../../shared/ports/clock.js";
import { readEnvironment } from "../../shared/runtime/environment.js";
import { createMetrics, publishMarketplaceRun } from "../../shared/runtime/observability.js";
import { cachedConfig, dynamoClient } from "../../shared/runtime/wiring.js";

const requestSchema = z.object({ accountIds: z.array(z.string().min(1)).optional() });

const marketplaceEnvironmentSchema = z.object({
  MARKETPLACE_API_URL: z.string().url(),
  AZURE_TENANT_ID: z.string().min(1).optional(),
  AZURE_CLIENT_ID: z.string().min(1).optional(),
  AZURE_CLIENT_SECRET: z.string().min(1).optional(),
});

export class MarketplaceRunError extends Error {
  override readonly name = "MarketplaceRunError";
  constructor(readonly report: MarketplaceRunReport) {
    super(
      `marketplace reporting failed for ${report.accounts
        .filter((a) => a.error)
        .map((a) => `${a.accountId} (${a.error})`)
        .join(", ")}`,
    );
  }
}

export function createMarketplaceReporterHandler(
  deps: MarketplaceReporterDeps,
  opts: { log?: (line: string) => void; onRun?: (report: MarketplaceRunReport) => void } = {},
) {
  const log = opts.log ?? ((line: string) => console.log(line));
  return async (input?: unknown): Promise<MarketplaceRunReport> => {
    const req = requestSchema.parse(input ?? {});
    const report = await reportMarketplaceUsage(deps, req.accountIds ? { accountIds: req.accountIds } : {});
    const failing = report.needsAttention.length > 0 || report.callErrors.length > 0;
    log(
      JSON.stringify({
        level: failing ? "ERROR" : "INFO",
        message: "marketplace usage reported",
        ranAt: report.ranAt,
        calls: report.calls,
        totals: report.totals,
        needsAttention: report.needsAttention,
        callErrors: report.callErrors,
        accountErrors: report.accounts
          .filter((a) => a.error)
          .map((a) => ({ accountId: a.accountId, error: a.error })),
      }),
    );
    opts.onRun?.(report);
    if (report.accounts.some((a) => a.error)) throw new MarketplaceRunError(report);
    return report;
  };
}

let lambdaHandler: ((input: unknown, context: Context) => Promise<MarketplaceRunReport>) | undefined;
export const handler = (input: unknown, context: Context) => {
  if (!lambdaHandler) {
    const env = readEnvironment();
    const menv = marketplaceEnvironmentSchema.parse(process.env);
    const ddb = dynamoClient({ region: env.AWS_REGION, dynamodbEndpoint: env.DYNAMODB_ENDPOINT });
    const store = new DynamoBillingStore(ddb, env.BILLING_TABLE);
    const marketplace = new DynamoMarketplaceStore(ddb, env.BILLING_TABLE);
    const token =
      menv.AZURE_TENANT_ID && menv.AZURE_CLIENT_ID && menv.AZURE_CLIENT_SECRET
        ? entraTokenProvider({
            tenantId: menv.AZURE_TENANT_ID,
            clientId: menv.AZURE_CLIENT_ID,
            clientSecret: menv.AZURE_CLIENT_SECRET,
          })
        : undefined;
    const client = new HttpMeteringClient({ baseUrl: menv.MARKETPLACE_API_URL, ...(token ? { token } : {}) });
    const config = cachedConfig(store, systemClock, env.CONFIG_CACHE_SECONDS * 1000);
    const metrics = createMetrics();
    lambdaHandler = middy(
      createMarketplaceReporterHandler(
        { ledger: store.usage, store: marketplace, client, clock: systemClock, config },
        { onRun: (report) => publishMarketplaceRun(metrics, report) },
      ),
    );
  }
  return lambdaHandler(input, context);
};

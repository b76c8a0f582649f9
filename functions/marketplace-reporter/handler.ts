/**
 * Scheduled hourly (and invokable by hand): reports the usage of azure-marketplace accounts above
 * their plans' included quantities to the Microsoft Marketplace Metering API, one usage event per
 * dimension and completed hour, catching up on missed hours still within 24 hours
 * (shared/app/report-marketplace-usage.ts). Input `{ "accountIds"?: [...] }`.
 *
 * Environment: BILLING_TABLE, MARKETPLACE_API_URL (https://marketplaceapi.microsoft.com, or the
 * local Metering API); MARKETPLACE_CREDENTIALS_SECRET_ARN, the Secrets Manager secret holding the
 * publisher's Entra ID application `{ tenantId, clientId, clientSecret }` — without it calls
 * carry no token (a local Metering API); ENTRA_AUTHORITY overrides https://login.microsoftonline.com.
 *
 * The run's outcome is returned and logged as one JSON line; events refused by the Marketplace
 * (expired, rejected) and calls without an answer are logged at ERROR level. EMF metrics:
 * MarketplaceRejectedEvents (refused for good in this run), MarketplaceExpiredEvents (the part of
 * those whose hour is past Microsoft's 24 hours: revenue lost), MarketplaceOverduePending (still
 * pending 20 hours after their hour ended) and MarketplaceIncompleteRuns (a call without answer, an
 * account not processed, or batches left for the time budget); an alarm watches each. The function
 * throws only when an account could not be processed at all, so the scheduler retries (a rerun is
 * idempotent). Calls stop 30 seconds before the invocation's timeout (the run's time budget).
 */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { DynamoMarketplaceStore } from "../../shared/adapters/dynamodb/marketplace-store.js";
import {
  entraTokenProvider,
  HttpMeteringClient,
} from "../../shared/adapters/marketplace/http-metering-client.js";
import { secretsManagerCredentials } from "../../shared/adapters/marketplace/secrets-manager-credentials.js";
import { foldForAccount } from "../../shared/app/fold-usage.js";
import {
  type MarketplaceReporterDeps,
  type MarketplaceRunReport,
  reportMarketplaceUsage,
} from "../../shared/app/report-marketplace-usage.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { marketplaceEnvironmentSchema } from "../../shared/runtime/environment.js";
import { type AwsClients, lambdaEntry } from "../../shared/runtime/lambda-entry.js";
import {
  createMetrics,
  MARKETPLACE_EXPIRED_EVENTS_METRIC,
  MARKETPLACE_INCOMPLETE_RUNS_METRIC,
  MARKETPLACE_OVERDUE_PENDING_METRIC,
  MARKETPLACE_REJECTED_EVENTS_METRIC,
  publishMarketplaceRun,
} from "../../shared/runtime/observability.js";
import { cachedConfig } from "../../shared/runtime/wiring.js";

const requestSchema = z.object({ accountIds: z.array(z.string().min(1)).optional() });

/** Calls stop this long before the invocation's timeout. */
const TIME_BUDGET_MARGIN_MS = 30_000;

/** The metric values of a run (all are emitted every run, zeros included). */
export function runMetrics(report: MarketplaceRunReport): Record<string, number> {
  const incomplete =
    report.callErrors.length > 0 || report.unsentForTimeBudget > 0 || report.accounts.some((a) => a.error);
  return {
    [MARKETPLACE_REJECTED_EVENTS_METRIC]: report.rejectedEvents,
    [MARKETPLACE_EXPIRED_EVENTS_METRIC]: report.expiredEvents,
    [MARKETPLACE_OVERDUE_PENDING_METRIC]: report.overduePending,
    [MARKETPLACE_INCOMPLETE_RUNS_METRIC]: incomplete ? 1 : 0,
  };
}

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
  opts: {
    log?: (line: string) => void;
    /** The run's alarm metrics. */
    metric?: (name: string, value: number) => void;
    flushMetrics?: () => void;
    /** The run's business metrics. */
    onRun?: (report: MarketplaceRunReport) => void;
  } = {},
) {
  const log = opts.log ?? ((line: string) => console.log(line));
  return async (
    input?: unknown,
    context?: Pick<Context, "getRemainingTimeInMillis">,
  ): Promise<MarketplaceRunReport> => {
    const req = requestSchema.parse(input ?? {});
    const remaining = context?.getRemainingTimeInMillis?.();
    const report = await reportMarketplaceUsage(deps, {
      ...(req.accountIds ? { accountIds: req.accountIds } : {}),
      ...(remaining !== undefined ? { deadline: Date.now() + remaining - TIME_BUDGET_MARGIN_MS } : {}),
    });
    for (const [name, value] of Object.entries(runMetrics(report))) opts.metric?.(name, value);
    opts.flushMetrics?.();
    const failing =
      report.needsAttention.length > 0 || report.callErrors.length > 0 || report.overduePending > 0;
    log(
      JSON.stringify({
        level: failing ? "ERROR" : "INFO",
        message: "marketplace usage reported",
        ranAt: report.ranAt,
        calls: report.calls,
        totals: report.totals,
        needsAttention: report.needsAttention,
        callErrors: report.callErrors,
        overduePending: report.overduePending,
        unsentForTimeBudget: report.unsentForTimeBudget,
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

/** The Lambda's wiring (also run by the grants test against DynamoDB Local). */
export function marketplaceReporterDeps(
  env: {
    BILLING_TABLE: string;
    CONFIG_CACHE_SECONDS: number;
    MARKETPLACE_API_URL: string;
    MARKETPLACE_CREDENTIALS_SECRET_ARN?: string | undefined;
    ENTRA_AUTHORITY?: string | undefined;
    ENTRA_TENANT_ID?: string | undefined;
    ENTRA_CLIENT_ID?: string | undefined;
  },
  clients: Pick<AwsClients, "dynamo" | "endpoints" | "trace">,
  clock: Clock = systemClock,
): MarketplaceReporterDeps {
  // Deployed ingest leaves its journals to the fold: this function folds its accounts' shard first.
  const store = new DynamoBillingStore(clients.dynamo, env.BILLING_TABLE, { foldInline: false });
  const marketplace = new DynamoMarketplaceStore(clients.dynamo, env.BILLING_TABLE);
  // Cached per container until shortly before it expires; re-read after a 401.
  const token = env.MARKETPLACE_CREDENTIALS_SECRET_ARN
    ? entraTokenProvider({
        credentials: secretsManagerCredentials(
          env.MARKETPLACE_CREDENTIALS_SECRET_ARN,
          async () => {
            const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
            return clients.trace(new SecretsManagerClient({ region: clients.endpoints.region }));
          },
          { tenantId: env.ENTRA_TENANT_ID, clientId: env.ENTRA_CLIENT_ID },
        ),
        ...(env.ENTRA_AUTHORITY ? { authority: env.ENTRA_AUTHORITY } : {}),
      })
    : undefined;
  const client = new HttpMeteringClient({ baseUrl: env.MARKETPLACE_API_URL, ...(token ? { token } : {}) });
  const config = cachedConfig(store, clock, env.CONFIG_CACHE_SECONDS * 1000);
  // The reporter reads pages: it folds each account's journal first (the usage fold's grants).
  const fold = (accountId: string) =>
    foldForAccount(accountId, { usage: store.usage, periods: store, clock, unclosed: store.unclosed });
  return { ledger: store.usage, store: marketplace, client, clock, config, fold };
}

export const handler = lambdaEntry(marketplaceEnvironmentSchema, (env, clients) => {
  const metrics = createMetrics();
  return createMarketplaceReporterHandler(marketplaceReporterDeps(env, clients), {
    metric: (name, value) => metrics.addMetric(name, MetricUnit.Count, value),
    flushMetrics: () => metrics.publishStoredMetrics(),
    onRun: (report) => publishMarketplaceRun(metrics, report),
  });
});

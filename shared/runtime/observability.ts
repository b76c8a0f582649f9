/**
 * Names the handlers emit under and the infra alarms watch: both import them from here, so the
 * alarm's namespace, metric name and dimensions match what is emitted exactly (CloudWatch EMF via
 * Powertools Metrics, whose only default dimension is `service`).
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Decimal } from "decimal.js";
import { compareStrings } from "../core/compare.js";
import { ZERO } from "../core/money.js";
import { HOUR } from "../core/time.js";

export const SERVICE_NAME = "cpaas-billing";
export const METRICS_NAMESPACE = "CpaasBilling";
/**
 * One per usage message whose ingestion failed through our fault or the platform's (throttling past
 * the retries, AccessDenied, KMS, a timeout, a bug): returned to the queue, never dead-lettered.
 */
export const INGEST_UNEXPECTED_ERRORS_METRIC = "IngestUnexpectedErrors";
/** Marketplace usage events refused for good (Expired or any rejection) in a reporter run. */
export const MARKETPLACE_REJECTED_EVENTS_METRIC = "MarketplaceRejectedEvents";
/**
 * Marketplace usage events recorded expired in a reporter run: hours the reporter reached after
 * Microsoft's 24 hours, and events the Marketplace answered Expired. Usage Microsoft will never bill.
 */
export const MARKETPLACE_EXPIRED_EVENTS_METRIC = "MarketplaceExpiredEvents";
/** Marketplace usage events still pending 20 hours after their hour ended, per reporter run. */
export const MARKETPLACE_OVERDUE_PENDING_METRIC = "MarketplaceOverduePending";
/** 1 for a reporter run that left work undone (a call without answer, an account, the time budget). */
export const MARKETPLACE_INCOMPLETE_RUNS_METRIC = "MarketplaceIncompleteRuns";
export const METRIC_DIMENSIONS: Readonly<Record<string, string>> = { service: SERVICE_NAME };

/**
 * Business metrics per run (Powertools Metrics, EMF), each under METRICS_NAMESPACE with the
 * `service` dimension (CLOSE_AMOUNT also with `currency`). The alarms and the dashboard use these names.
 */
export const METRIC = {
  /** Per ingest batch: events stored once, re-deliveries, G5 conflicts, bad events dead-lettered, */
  ingestStored: "IngestEventsStored",
  ingestDuplicates: "IngestDuplicates",
  ingestConflicts: "IngestConflicts",
  ingestDeadLettered: "IngestDeadLettered",
  /** stored events of a period already closed (billed as adjustments, G7), messages returned to SQS. */
  ingestLate: "IngestLateEvents",
  ingestRetried: "IngestMessagesRetried",
  /** Per close run. */
  closeDuration: "CloseDuration",
  closeLines: "CloseLines",
  closeAccountsClosed: "CloseAccountsClosed",
  /** Accounts another run still holds (being-closed): the period is not closed for them yet. */
  closeAccountsNotClosed: "CloseAccountsNotClosed",
  closeAmount: "CloseAmount",
  /** Close requests for an account with no configuration at all, kept in suspense (alarmed). */
  closeRequestsSuspended: "CloseRequestsSuspended",
  /** Per scheduler run: close requests sent, and those sent past CLOSE_OVERDUE_HOURS. */
  closeAccountsEnqueued: "CloseAccountsEnqueued",
  closeAccountsOverdue: "CloseAccountsOverdue",
  /** Per marketplace reporter run (usage events by outcome; rejected includes expired). */
  marketplaceAccepted: "MarketplaceAccepted",
  marketplaceRejected: "MarketplaceRejected",
  marketplacePending: "MarketplacePending",
  marketplaceOldestPendingHours: "MarketplaceOldestPendingHours",
} as const;
export const CURRENCY_DIMENSION = "currency";

/** The one Metrics shape every handler uses (namespace and service as the alarms expect). */
export const createMetrics = () => new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

export interface IngestBatchCounts {
  readonly stored: number;
  readonly duplicate: number;
  readonly conflict: number;
  readonly "dead-lettered": number;
  readonly failed: number;
  readonly late: number;
}

/** One EMF document per ingest batch with its outcome counts. */
export function publishIngestBatch(metrics: Metrics, c: IngestBatchCounts): void {
  metrics.addMetric(METRIC.ingestStored, MetricUnit.Count, c.stored);
  metrics.addMetric(METRIC.ingestDuplicates, MetricUnit.Count, c.duplicate);
  metrics.addMetric(METRIC.ingestConflicts, MetricUnit.Count, c.conflict);
  metrics.addMetric(METRIC.ingestDeadLettered, MetricUnit.Count, c["dead-lettered"]);
  metrics.addMetric(METRIC.ingestLate, MetricUnit.Count, c.late);
  metrics.addMetric(METRIC.ingestRetried, MetricUnit.Count, c.failed);
  metrics.publishStoredMetrics();
}

export interface CloseRunFigures {
  readonly durationMs: number;
  /** Requests of the run suspended: no configuration of their account at all. */
  readonly suspended?: number;
  readonly reports: readonly {
    readonly status: string;
    readonly currency?: string;
    readonly lines?: number;
    readonly totals?: { readonly amount: string };
  }[];
}

/**
 * One EMF document per close run (duration, lines, accounts closed and not closed), and one per
 * currency with the amount this run closed (a figure to watch, not money: the lines are the record).
 */
export function publishCloseRun(metrics: Metrics, run: CloseRunFigures): void {
  const closed = run.reports.filter((r) => r.status === "closed");
  metrics.addMetric(METRIC.closeDuration, MetricUnit.Milliseconds, run.durationMs);
  metrics.addMetric(
    METRIC.closeLines,
    MetricUnit.Count,
    closed.reduce((n, r) => n + (r.lines ?? 0), 0),
  );
  metrics.addMetric(METRIC.closeAccountsClosed, MetricUnit.Count, closed.length);
  metrics.addMetric(METRIC.closeRequestsSuspended, MetricUnit.Count, run.suspended ?? 0);
  metrics.addMetric(
    METRIC.closeAccountsNotClosed,
    MetricUnit.Count,
    run.reports.filter((r) => r.status === "being-closed").length,
  );
  metrics.publishStoredMetrics();
  const byCurrency = new Map<string, Decimal>();
  for (const r of closed)
    if (r.currency && r.totals)
      byCurrency.set(r.currency, (byCurrency.get(r.currency) ?? ZERO).plus(r.totals.amount));
  for (const [currency, amount] of [...byCurrency].sort(([a], [b]) => compareStrings(a, b))) {
    const single = metrics.singleMetric();
    single.addDimension(CURRENCY_DIMENSION, currency);
    single.addMetric(METRIC.closeAmount, MetricUnit.NoUnit, amount.toNumber());
  }
}

/** One EMF document per close-scheduler run: requests enqueued, and how many of them were overdue. */
export function publishCloseSchedule(metrics: Metrics, run: { enqueued: number; overdue: number }): void {
  metrics.addMetric(METRIC.closeAccountsEnqueued, MetricUnit.Count, run.enqueued);
  metrics.addMetric(METRIC.closeAccountsOverdue, MetricUnit.Count, run.overdue);
  metrics.publishStoredMetrics();
}

export interface MarketplaceRunFigures {
  readonly ranAt: string;
  readonly totals: Readonly<Record<string, number>>;
  readonly accounts: readonly {
    readonly events: readonly { readonly outcome: string; readonly effectiveStartTime: string }[];
  }[];
}

/** One EMF document per reporter run; the oldest pending event's age drives the 20-hour alarm. */
export function publishMarketplaceRun(metrics: Metrics, run: MarketplaceRunFigures): void {
  const ranAt = Date.parse(run.ranAt);
  const pendingStarts = run.accounts.flatMap((a) =>
    a.events.filter((e) => e.outcome === "pending").map((e) => Date.parse(e.effectiveStartTime)),
  );
  const oldestHours =
    pendingStarts.length === 0 ? 0 : Math.max(0, (ranAt - Math.min(...pendingStarts)) / HOUR);
  metrics.addMetric(METRIC.marketplaceAccepted, MetricUnit.Count, run.totals.accepted ?? 0);
  metrics.addMetric(
    METRIC.marketplaceRejected,
    MetricUnit.Count,
    (run.totals.rejected ?? 0) + (run.totals.expired ?? 0),
  );
  metrics.addMetric(METRIC.marketplacePending, MetricUnit.Count, run.totals.pending ?? 0);
  metrics.addMetric(METRIC.marketplaceOldestPendingHours, MetricUnit.Count, oldestHours);
  metrics.publishStoredMetrics();
}

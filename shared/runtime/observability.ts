/**
 * Names the handlers emit under and the infra alarms watch: both import them from here, so the
 * alarm's namespace, metric name and dimensions match what is emitted exactly (CloudWatch EMF via
 * Powertools Metrics, whose only default dimension is `service`).
 */
export const SERVICE_NAME = "cpaas-billing";
export const METRICS_NAMESPACE = "CpaasBilling";
/** One per usage message whose ingestion failed unexpectedly (returned to the queue for a retry). */
export const INGEST_UNEXPECTED_ERRORS_METRIC = "IngestUnexpectedErrors";
/** Marketplace usage events refused for good (Expired or any rejection) in a reporter run (D20). */
export const MARKETPLACE_REJECTED_EVENTS_METRIC = "MarketplaceRejectedEvents";
/** Marketplace usage events still pending 20 hours after their hour ended, per reporter run (D20). */
export const MARKETPLACE_OVERDUE_PENDING_METRIC = "MarketplaceOverduePending";
/** 1 for a reporter run that left work undone (a call without answer, an account, the time budget). */
export const MARKETPLACE_INCOMPLETE_RUNS_METRIC = "MarketplaceIncompleteRuns";
export const METRIC_DIMENSIONS: Readonly<Record<string, string>> = { service: SERVICE_NAME };

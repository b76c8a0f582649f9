/**
 * Names the handlers emit under and the infra alarms watch: both import them from here, so the
 * alarm's namespace, metric name and dimensions match what is emitted exactly (CloudWatch EMF via
 * Powertools Metrics, whose only default dimension is `service`).
 */
export const SERVICE_NAME = "cpaas-billing";
export const METRICS_NAMESPACE = "CpaasBilling";
/** One per usage message whose ingestion failed unexpectedly (returned to the queue for a retry). */
export const INGEST_UNEXPECTED_ERRORS_METRIC = "IngestUnexpectedErrors";
export const METRIC_DIMENSIONS: Readonly<Record<string, string>> = { service: SERVICE_NAME };

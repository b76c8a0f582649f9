/** The business metrics the Lambda handlers publish (EMF on stdout), as the alarms and dashboard read them. */
import { describe, expect, it } from "vitest";
import {
  createMetrics,
  METRIC,
  METRICS_NAMESPACE,
  publishCloseRun,
  publishIngestBatch,
  publishMarketplaceRun,
  SERVICE_NAME,
} from "../../shared/runtime/observability.js";
import { captureOutput, emfDocuments } from "../support/capture-output.js";

const emit = async (fn: () => void) => emfDocuments((await captureOutput(async () => fn())).stdout);

describe("business metrics", () => {
  it("ingest: one document per batch with every outcome count, under the namespace and service", async () => {
    const [doc, ...rest] = await emit(() =>
      publishIngestBatch(createMetrics(), {
        stored: 7,
        duplicate: 1,
        conflict: 1,
        "dead-lettered": 2,
        failed: 3,
        late: 4,
      }),
    );
    expect(rest).toHaveLength(0);
    expect(doc?._aws.CloudWatchMetrics[0]?.Namespace).toBe(METRICS_NAMESPACE);
    expect(doc?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([["service"]]);
    expect(doc).toMatchObject({
      service: SERVICE_NAME,
      [METRIC.ingestStored]: 7,
      [METRIC.ingestDuplicates]: 1,
      [METRIC.ingestConflicts]: 1,
      [METRIC.ingestDeadLettered]: 2,
      [METRIC.ingestRetried]: 3,
      [METRIC.ingestLate]: 4,
    });
  });

  it("close: duration, lines and accounts of this run, and the closed amount per currency (decimal sums)", async () => {
    const closed = (currency: string, amount: string, lines: number) => ({
      status: "closed",
      currency,
      lines,
      totals: { amount },
    });
    const docs = await emit(() =>
      publishCloseRun(createMetrics(), {
        durationMs: 1234,
        reports: [
          closed("EUR", "0.1", 2),
          closed("EUR", "0.2", 3),
          closed("USD", "10.005", 1),
          { status: "already-closed", currency: "EUR", lines: 9, totals: { amount: "99" } },
          { status: "being-closed" },
        ],
      }),
    );
    expect(docs[0]).toMatchObject({
      [METRIC.closeDuration]: 1234,
      [METRIC.closeLines]: 6,
      [METRIC.closeAccountsClosed]: 3,
      [METRIC.closeAccountsNotClosed]: 1,
    });
    const amounts = docs.slice(1).map((d) => [d.currency, d[METRIC.closeAmount]]);
    expect(amounts).toEqual([
      ["EUR", 0.3],
      ["USD", 10.005],
    ]);
    expect(docs[1]?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([["service", "currency"]]);
  });

  it("marketplace: outcomes (rejected includes expired) and the oldest pending event's age in hours", async () => {
    const [doc] = await emit(() =>
      publishMarketplaceRun(createMetrics(), {
        ranAt: "2025-07-02T12:00:00.000Z",
        totals: { accepted: 5, duplicate: 1, expired: 1, rejected: 2, pending: 2 },
        accounts: [
          {
            events: [
              { outcome: "pending", effectiveStartTime: "2025-07-01T15:00:00Z" },
              { outcome: "pending", effectiveStartTime: "2025-07-02T10:00:00Z" },
              { outcome: "accepted", effectiveStartTime: "2025-06-30T00:00:00Z" },
            ],
          },
        ],
      }),
    );
    expect(doc).toMatchObject({
      [METRIC.marketplaceAccepted]: 5,
      [METRIC.marketplaceRejected]: 3,
      [METRIC.marketplacePending]: 2,
      [METRIC.marketplaceOldestPendingHours]: 21,
    });
  });
});

/**
 * A Marketplace reporter run's report (what the handler's metrics and alarms, the simulation and
 * `billing marketplace reconcile` read), and what each answer of the Metering API does to a usage
 * record (core/marketplace/statuses.ts says which status means what):
 * - Accepted → accepted.
 * - Duplicate → the Marketplace already holds an event for that resource/dimension/hour (our own,
 *   sent by a call whose answer was lost): accepted, with the quantity Microsoft holds; never resent.
 *   If Microsoft holds another quantity than ours, the record says so (reason) and the run report
 *   lists it for reconciliation.
 * - Error (a failure on Microsoft's side) or a status not in the OpenAPI enum → no verdict: stays
 *   pending and is sent again (Duplicate if it was taken after all).
 * - Expired, or any rejection (ResourceNotFound, ResourceNotAuthorized, ResourceNotActive,
 *   InvalidDimension, InvalidQuantity, BadArgument) → kept with
 *   the Marketplace's status and reason, listed in the run report, never counted as accepted and
 *   never sent again (no blind retry). Its quantity is NOT carried into later hours: a finance team
 *   expects the Marketplace invoice to be explainable event by event, and quietly re-billing
 *   refused usage under another hour would hide the refusal (and re-trigger it for configuration
 *   errors every hour). It stays "reported, not accepted" for manual handling (a Partner Center
 *   correction, a credit, or a fix of the plan's dimensions), visible in the store and the report.
 * - No answer (network, timeout, HTTP 4xx/5xx, unreadable body) → nothing is recorded as accepted;
 *   the records stay pending and the same events are sent again by the next run (hourly), which
 *   is safe: an event the Marketplace did take comes back Duplicate. A pending event older than
 *   24 hours comes back Expired and is then handled as above.
 */
import { outcomeOfStatus } from "../core/marketplace/statuses.js";
import { dec, formatDecimal } from "../core/money.js";
import type { MarketplaceUsageRecord, UsageEventResult, UsageRecordUpdate } from "../ports/marketplace.js";

export type UsageEventOutcome = "accepted" | "duplicate" | "expired" | "rejected" | "pending";

export interface ReportedUsageEvent {
  readonly accountId: string;
  readonly dimension: string;
  readonly effectiveStartTime: string;
  readonly quantity: string;
  readonly outcome: UsageEventOutcome;
  /** The Marketplace's status word, when it answered. */
  readonly marketplaceStatus?: string;
  /** Quantity the Marketplace holds for the hour (after a Duplicate it may differ from ours). */
  readonly acceptedQuantity?: string;
  /** Rejection reason, mismatch note, or the call error for a pending event. */
  readonly reason?: string;
  /** True when the event was pending from an earlier run and sent again. */
  readonly resent: boolean;
}

export interface AccountMarketplaceReport {
  readonly accountId: string;
  readonly resourceId: string;
  readonly planId: string;
  /** Hours computed by this run (first and last effectiveStartTime), or null when none had completed. */
  readonly hours: { readonly first: string; readonly last: string; readonly count: number } | null;
  /**
   * Completed hours the Marketplace no longer accepted when this run reached them (older than 24
   * hours: the reporter did not run in time); their overage is recorded `expired`, never sent.
   */
  readonly skippedHours: number;
  /**
   * True when the snapshot at the start of the months in play was missing (the month before them
   * never closed), so the account's earlier months were read to build it.
   */
  readonly readHistory: boolean;
  /** The last hour reported after this run. */
  readonly watermark: string | null;
  readonly events: ReportedUsageEvent[];
  /** An unexpected failure for this account (the other accounts still ran); the run is retried. */
  readonly error?: string;
}

export interface MarketplaceRunReport {
  readonly ranAt: string;
  readonly accounts: AccountMarketplaceReport[];
  readonly calls: number;
  readonly totals: Record<UsageEventOutcome, number>;
  /** Expired and rejected events, and Duplicates holding another quantity: for manual handling. */
  readonly needsAttention: ReportedUsageEvent[];
  /** Calls that got no per-event answer (their events stay pending for the next run). */
  readonly callErrors: string[];
  /** Events refused for good in this run (expired or rejected): the MarketplaceRejectedEvents metric. */
  readonly rejectedEvents: number;
  /**
   * Events recorded expired in this run — hours the reporter reached too late, and events the
   * Marketplace answered Expired: usage Microsoft will never bill (the MarketplaceExpiredEvents metric).
   */
  readonly expiredEvents: number;
  /** The quantity of those events (decimal string), for the alarm's message and the runbook. */
  readonly expiredQuantity: string;
  /**
   * Events still pending after this run whose hour ended 20 hours or more ago (4 hours left in
   * Microsoft's 24): the MarketplaceOverduePending metric.
   */
  readonly overduePending: number;
  /** Batches left unsent because the run's time budget ran out (their events stay pending). */
  readonly unsentForTimeBudget: number;
}

/** The record update and the report event of an event the Marketplace answered. */
export function answered(
  record: MarketplaceUsageRecord,
  result: UsageEventResult,
  at: number,
  resent: boolean,
): { update: UsageRecordUpdate; event: ReportedUsageEvent } {
  const base = {
    accountId: record.accountId,
    dimension: record.dimension,
    effectiveStartTime: record.effectiveStartTime,
    quantity: record.quantity,
    marketplaceStatus: result.status,
    resent,
  };
  const usageEventId = result.usageEventId !== undefined ? { usageEventId: result.usageEventId } : {};
  const outcome = outcomeOfStatus(result.status);
  const microsoft = [result.status, result.error?.message]
    .filter((s) => s !== undefined && s !== "")
    .join(": ");
  if (outcome.kind === "retry") {
    // No verdict on the event (Error, or a status we do not know): it stays pending and is sent
    // again; if the Marketplace did take it, the next answer is Duplicate.
    const error = `${microsoft} (${outcome.reason}; sent again by the next run)`;
    return {
      update: { kind: "call-failed", error, at },
      event: { ...base, outcome: "pending", reason: error },
    };
  }
  if (outcome.kind === "accepted" || outcome.kind === "duplicate-accepted") {
    const held =
      result.acceptedQuantity !== undefined ? formatDecimal(dec(result.acceptedQuantity)) : record.quantity;
    const reason =
      held !== record.quantity
        ? `the Marketplace already holds ${held} for this hour; ${record.quantity} was to be reported`
        : undefined;
    return {
      update: {
        kind: "answered",
        status: "accepted",
        marketplaceStatus: result.status,
        acceptedQuantity: held,
        ...usageEventId,
        ...(reason ? { reason } : {}),
        at,
      },
      event: {
        ...base,
        outcome: outcome.kind === "accepted" ? "accepted" : "duplicate",
        acceptedQuantity: held,
        ...(reason ? { reason } : {}),
      },
    };
  }
  const status = outcome.expired ? "expired" : "rejected";
  const reason = `${microsoft} (${outcome.reason})`;
  return {
    update: { kind: "answered", status, marketplaceStatus: result.status, reason, ...usageEventId, at },
    event: { ...base, outcome: status, reason },
  };
}

/** The record update and the report event of an event whose call got no answer for it. */
export function failedCall(
  record: MarketplaceUsageRecord,
  error: string,
  at: number,
  resent: boolean,
): { update: UsageRecordUpdate; event: ReportedUsageEvent } {
  return {
    update: { kind: "call-failed", error, at },
    event: {
      accountId: record.accountId,
      dimension: record.dimension,
      effectiveStartTime: record.effectiveStartTime,
      quantity: record.quantity,
      outcome: "pending",
      reason: error,
      resent,
    },
  };
}

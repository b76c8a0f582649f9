/**
 * Ports of the Marketplace pass-through (rating-rules §6): the Microsoft Marketplace Metering API
 * and the store of what was reported to it. Policies: shared/core/marketplace/usage.ts (what is
 * reported) and shared/app/marketplace-answers.ts (what happens to each answer).
 */

import { BillingError } from "../core/errors.js";
import type { UsageEventRequest } from "../core/marketplace/usage.js";
import type { PeriodId } from "../core/time.js";

export type { UsageEventRequest };

/** Gives the bearer token for a Metering API call; `invalidate` after a 401 makes the next call fetch a new one. */
export interface TokenProvider {
  token(): Promise<string | undefined>;
  invalidate(): void;
}

/** The Marketplace's answer for one usage event of a batch. */
export interface UsageEventResult {
  /**
   * Microsoft's per-event status, one of the ten of the OpenAPI StatusEnum; its outcome:
   * core/marketplace/statuses.ts.
   */
  readonly status: string;
  readonly usageEventId?: string;
  readonly messageTime?: string;
  /**
   * The quantity the Marketplace holds for this resource/dimension/hour: the event's own when
   * Accepted; for a Duplicate, the one accepted earlier (`error.additionalInfo.acceptedMessage`).
   */
  readonly acceptedQuantity?: number;
  readonly error?: {
    readonly code?: string;
    /** The details' messages with their targets (`effectiveStartTime: …`), else the error's message. */
    readonly message?: string;
    /** The fields Microsoft names in `error.details[].target`. */
    readonly targets?: readonly string[];
  };
}

export interface MeteringCallOptions {
  /** Real-clock instant (epoch ms) after which no retry is started: the run's time budget. */
  readonly deadline?: number;
}

/** Thrown when a call has no per-event answer (network, timeout, HTTP 4xx/5xx, unreadable body). */
export class MeteringCallError extends BillingError {
  override readonly name = "MeteringCallError";
  constructor(
    message: string,
    /** HTTP status when the API answered, undefined for network errors and timeouts. */
    readonly httpStatus?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface MarketplaceMeteringClient {
  /**
   * Sends at most 25 events (retrying transient failures within `opts.deadline`). Result i answers
   * event i. Throws MeteringCallError when the call gives no per-event answer: nothing may be
   * assumed accepted.
   */
  submitBatch(events: readonly UsageEventRequest[], opts?: MeteringCallOptions): Promise<UsageEventResult[]>;
}

/**
 * pending: written before the call, the answer is not known yet (sent again on the next run);
 * accepted: Accepted, or Duplicate (the hour was accepted before);
 * expired / rejected: the Marketplace refused it; kept for manual handling, never sent again.
 */
export type UsageRecordStatus = "pending" | "accepted" | "expired" | "rejected";

/** One usage event we decided to send: one per account, dimension and hour, ever. */
export interface MarketplaceUsageRecord {
  readonly accountId: string;
  readonly resourceId: string;
  readonly planId: string;
  readonly dimension: string;
  /** Start of the hour (epoch ms). */
  readonly hour: number;
  readonly effectiveStartTime: string;
  /** The quantity sent (decimal string). */
  readonly quantity: string;
  /** Which billing month's overage the quantity is (decimal strings summing to `quantity`). */
  readonly byPeriod: Readonly<Record<PeriodId, string>>;
  readonly status: UsageRecordStatus;
  /** The Marketplace's status word (Accepted, Duplicate, Expired, ResourceNotFound …). */
  readonly marketplaceStatus?: string;
  /** What the Marketplace holds for the hour (differs from `quantity` only after a Duplicate). */
  readonly acceptedQuantity?: string;
  readonly usageEventId?: string;
  /** Why it was refused, or a note (a Duplicate holding another quantity). */
  readonly reason?: string;
  /** Calls that carried it without an answer. */
  readonly failedAttempts: number;
  readonly lastError?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type UsageRecordUpdate =
  | {
      readonly kind: "answered";
      readonly status: Exclude<UsageRecordStatus, "pending">;
      readonly marketplaceStatus: string;
      readonly acceptedQuantity?: string;
      readonly usageEventId?: string;
      readonly reason?: string;
      readonly at: number;
    }
  | { readonly kind: "call-failed"; readonly error: string; readonly at: number };

export interface MarketplaceWatermark {
  /** The last hour reported (start, epoch ms): the next run starts at the hour after it. */
  readonly lastHour: number;
  /** The first hour ever reported for the account: earlier billing months are never reported. */
  readonly firstHour: number;
}

/** A usage event the Marketplace holds (Accepted or Duplicate), for reconciliation. */
export interface AcceptedMarketplaceUsage extends UsageEventRequest {
  readonly accountId: string;
  readonly usageEventId?: string;
}

export interface MarketplaceStore {
  getWatermark(accountId: string): Promise<MarketplaceWatermark | undefined>;
  /** Moves the watermark forward to lastHour (never back); firstHour is kept once set. */
  advanceWatermark(accountId: string, watermark: MarketplaceWatermark): Promise<void>;
  /** Writes a new pending record; false when the account already has one for that dimension and hour. */
  createUsageRecord(record: MarketplaceUsageRecord): Promise<boolean>;
  /** Records an answer (only on a pending record: an answered one never changes) or a failed call. */
  updateUsageRecord(
    accountId: string,
    dimension: string,
    hour: number,
    update: UsageRecordUpdate,
  ): Promise<void>;
  /** The account's records with hour ≥ fromHour (all when omitted), of the given dimensions (all when omitted). */
  usageRecords(
    accountId: string,
    opts?: { readonly fromHour?: number; readonly dimensions?: readonly string[] },
  ): Promise<MarketplaceUsageRecord[]>;
}

/**
 * How long an event's identity is remembered (rating-rules G5): 400 days after the event's `time`.
 * An event whose `time` is more than that before its receipt is refused as too old, so that the
 * table may forget identities (DynamoDB TTL) without a late re-delivery ever being counted twice:
 * any event still accepted finds its identity's claim, since that claim expires only after the
 * event would have been refused.
 */
import { DAY } from "./time.js";

/** G5: identities are remembered for 400 days after the event's time. */
export const IDENTITY_RETENTION_MS = 400 * DAY;

/**
 * Kept past the 400 days before DynamoDB's TTL may delete an item: the receipt clock (Lambda's)
 * and the TTL sweeper's clock are different machines, and an item read just after its TTL is
 * still found, but one deleted a moment early would be a double count.
 */
export const EXPIRY_MARGIN_MS = DAY;

/** True when the event's time is more than 400 days before its receipt (G5: refused as too old). */
export const isTooOld = (eventTime: number, receivedAt: number): boolean =>
  eventTime < receivedAt - IDENTITY_RETENTION_MS;

/**
 * The TTL (epoch seconds) of a record that must outlive the identity of an event at `eventTime`:
 * its claim, and the attempt record its claim names.
 */
export const identityExpiresAt = (eventTime: number): number =>
  Math.ceil((eventTime + IDENTITY_RETENTION_MS + EXPIRY_MARGIN_MS) / 1000);

/** The table's TTL attribute (epoch seconds); items without it are kept for ever. */
export const EXPIRES_AT_ATTRIBUTE = "expiresAt";

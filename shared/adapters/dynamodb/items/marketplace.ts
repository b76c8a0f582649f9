/**
 * Azure Marketplace reporting (marketplace-store.ts) on the billing table:
 *
 * | item                | pk            | sk                           | attributes                                   |
 * |---------------------|---------------|------------------------------|----------------------------------------------|
 * | reporting watermark | MKT#<account> | WATERMARK                    | lastHour, lastHourIso, firstHour, accountId  |
 * | usage record        | MKT#<account> | USAGE#<dimension>#<hour ISO> | the record's fields under their own names    |
 *
 * The hour ISO (`2025-07-02T10:00:00Z`) sorts in time order, so one dimension's records from an
 * hour on are one range query.
 */
import { hourIso } from "../../../core/marketplace/usage.js";
import type { PeriodId } from "../../../core/time.js";
import type { UsageRecordStatus } from "../../../ports/marketplace.js";
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { custom, itemCodec, num, opt, orElse, str } from "./codec.js";

export const marketplacePk = (accountId: string) => `MKT#${accountId}`;
/** Every usage record of a dimension sorts from this prefix … */
export const usageRecordsFrom = (dimension: string) => `USAGE#${dimension}#`;
/** … to this key ("$" sorts right after "#"). */
export const usageRecordsTo = (dimension: string) => `USAGE#${dimension}$`;
export const USAGE_RECORD_PREFIX = "USAGE#";
const usageSk = (dimension: string, hour: number) => `${usageRecordsFrom(dimension)}${hourIso(hour)}`;

export const watermarkItem = itemCodec({
  kind: "marketplace watermark",
  key: (k: { accountId: string }) => ({ pk: marketplacePk(k.accountId), sk: "WATERMARK" }),
  fields: {
    /** The last hour reported (start, epoch ms); never moves back. */
    lastHour: num("lastHour"),
    lastHourIso: str("lastHourIso"),
    /** The first hour ever reported for the account. */
    firstHour: num("firstHour"),
    accountId: str("accountId"),
  },
  maxBytes: ITEM_LIMIT_BYTES,
});

/** Which billing month's overage the quantity is: decimal strings by period. */
const byPeriod = custom<Readonly<Record<PeriodId, string>>>(
  "byPeriod",
  {
    to: (v) => v,
    from: (v) =>
      Object.fromEntries(
        Object.entries((v ?? {}) as Record<string, unknown>).map(([p, q]) => [p, String(q)]),
      ),
  },
  {
    to: (v) => ({ M: Object.fromEntries(Object.entries(v).map(([p, q]) => [p, { S: q }])) }),
    from: (v) => Object.fromEntries(Object.entries(v?.M ?? {}).map(([p, q]) => [p, String(q.S)])),
  },
);

export const usageRecordItem = itemCodec({
  kind: "marketplace usage record",
  key: (k: { accountId: string; dimension: string; hour: number }) => ({
    pk: marketplacePk(k.accountId),
    sk: usageSk(k.dimension, k.hour),
  }),
  fields: {
    accountId: str("accountId"),
    resourceId: str("resourceId"),
    planId: str("planId"),
    dimension: str("dimension"),
    hour: num("hour"),
    effectiveStartTime: str("effectiveStartTime"),
    quantity: str("quantity"),
    byPeriod,
    status: str<UsageRecordStatus>("status"),
    marketplaceStatus: opt(str("marketplaceStatus")),
    acceptedQuantity: opt(str("acceptedQuantity")),
    usageEventId: opt(str("usageEventId")),
    reason: opt(str("reason")),
    failedAttempts: orElse(num("failedAttempts"), 0),
    lastError: opt(str("lastError")),
    createdAt: num("createdAt"),
    updatedAt: num("updatedAt"),
  },
  // The Marketplace's answers (reason, last error) are kept as they come: bounded by the item only.
  maxBytes: ITEM_LIMIT_BYTES,
});

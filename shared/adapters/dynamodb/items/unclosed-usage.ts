/**
 * Accounts with usage not yet closed, by period (unclosed-usage.ts):
 *
 * | item           | pk                             | sk          | attributes                                      |
 * |----------------|--------------------------------|-------------|-------------------------------------------------|
 * | unclosed usage | UNCLOSED#<period>#<shard 0-15> | <accountId> | accountId, period, end; suspended, suspendedAt |
 *
 * The shard is the period index's hash of the account id (`sha256:<hex>` as the sort key past
 * 1,000 bytes), so a period's entries spread over 16 partition keys.
 */
import type { PeriodId } from "../../../core/time.js";
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { itemCodec, num, opt, str } from "./codec.js";
import { periodAccountKey } from "./keys.js";

export const UNCLOSED_SHARDS = 16;

export const unclosedShardPk = (period: PeriodId, shard: number) => `UNCLOSED#${period}#${shard}`;

export const unclosedItem = itemCodec({
  kind: "unclosed usage",
  key: periodAccountKey(unclosedShardPk, UNCLOSED_SHARDS),
  fields: {
    accountId: str("accountId"),
    period: str("period"),
    /** The period's end for the account (epoch ms). */
    end: num("end"),
    /** Why a close request could not close it (no configuration), kept to ≤ 1,000 characters. */
    suspended: opt(str("suspended")),
    suspendedAt: opt(num("suspendedAt")),
  },
  // ≈ 150 B; the account id attribute is the configuration's (≤ 1,024 bytes there).
  maxBytes: ITEM_LIMIT_BYTES,
});

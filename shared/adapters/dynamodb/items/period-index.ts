/**
 * The period index (period-index.ts) on the billing table:
 *
 * | item                 | pk                           | sk          | attributes                                |
 * |----------------------|------------------------------|-------------|-------------------------------------------|
 * | account closed in P  | PERIOD#<period>#<shard 0-15> | <accountId> | accountId, period, closedAt, refs, exports |
 * | period with closes   | PERIOD#LIST                  | <period>    | period, changes, manifested               |
 *
 * The shard is a hash of the account id, so a period's entries spread over 16 partition keys; an
 * account id over 1,000 bytes is keyed by its SHA-256 (a sort key is at most 1,024 bytes).
 */
import type { AccountExports } from "../../../core/period-exports.js";
import type { PeriodId } from "../../../core/time.js";
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { itemCodec, map, num, opt, orElse, str, strList } from "./codec.js";
import { periodAccountKey } from "./keys.js";

export const PERIOD_INDEX_SHARDS = 16;
export const PERIOD_LIST_PK = "PERIOD#LIST";

/** Every shard of a period's entries has a key that starts so. */
export const periodShardsPrefix = (period: PeriodId) => `PERIOD#${period}#`;
export const periodShardPk = (period: PeriodId, shard: number) => `${periodShardsPrefix(period)}${shard}`;

export const periodIndexItem = itemCodec({
  kind: "period index entry",
  key: periodAccountKey(periodShardPk, PERIOD_INDEX_SHARDS),
  fields: {
    accountId: str("accountId"),
    period: str("period"),
    closedAt: num("closedAt"),
    /** The earlier reference periods the close adjusted. */
    references: opt(strList("refs")),
    /** Key, bytes and SHA-256 of the account's export objects, and its line count. */
    exports: opt(map<AccountExports>("exports")),
  },
  // ≈ 1 KB; the account id attribute is the configuration's (≤ 1,024 bytes there).
  maxBytes: ITEM_LIMIT_BYTES,
});

export const periodListItem = itemCodec({
  kind: "period with closes",
  key: (k: { period: PeriodId }) => ({ pk: PERIOD_LIST_PK, sk: k.period }),
  fields: {
    period: str("period"),
    /** Exports recorded for the period (one more after each entry's objects are noted). */
    changes: orElse(num("changes"), 0),
    /** The `changes` its manifest was last written at. */
    manifested: orElse(num("manifested"), 0),
  },
  maxBytes: 200,
});

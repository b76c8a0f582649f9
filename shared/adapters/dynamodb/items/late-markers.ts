/**
 * Late markers (G7, G10): a closed period of the account received late events; the next close
 * re-rates it.
 *
 * | item        | pk             | sk            | attributes              |
 * |-------------|----------------|---------------|-------------------------|
 * | late marker | ACCT#<account> | LATE#<period> | period, markedAt, later |
 *
 * At most one per closed period of the account, ≈ 80 B. `later`: a late event of the period carries
 * state into later periods; absent on a marker from before the flag: read as true (following it
 * forward is always exact).
 */
import type { PeriodId } from "../../../core/time.js";
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { bool, itemCodec, num, orElse, str } from "./codec.js";
import { accountPeriodKey, accountPk } from "./keys.js";

export const LATE_PREFIX = "LATE#";

export const lateMarkerItem = itemCodec({
  kind: "late marker",
  key: accountPeriodKey(accountPk, LATE_PREFIX),
  fields: {
    period: str<PeriodId>("period"),
    markedAt: num("markedAt"),
    later: orElse(bool("later"), true),
  },
  // ≈ 80 B; the account id is the configuration's (≤ 1,024 bytes there).
  maxBytes: ITEM_LIMIT_BYTES,
});

/**
 * The close scheduler's state (close-schedule-store.ts) besides the configuration's zone index
 * (items/config.ts): one cursor item per zone.
 *
 * | item        | pk          | sk     | attributes           |
 * |-------------|-------------|--------|----------------------|
 * | zone cursor | SCHED#close | <zone> | period, done, after? |
 */
import type { PeriodId } from "../../../core/time.js";
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { bool, itemCodec, opt, str } from "./codec.js";

export const zoneCursorItem = itemCodec({
  kind: "zone cursor",
  key: (k: { zone: string }) => ({ pk: "SCHED#close", sk: k.zone }),
  fields: {
    period: str<PeriodId>("period"),
    done: bool("done"),
    /** The last account id enqueued (ids are listed in order). */
    after: opt(str("after")),
  },
  // ≈ 100 B; `after` is an account id of the configuration (≤ 1,024 bytes there).
  maxBytes: ITEM_LIMIT_BYTES,
});

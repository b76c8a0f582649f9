/**
 * Explanations of invoice lines (explanations.ts), one item per line:
 *
 * | item             | pk             | sk   | attributes                                   |
 * |------------------|----------------|------|----------------------------------------------|
 * | line explanation | EXPL#<line id> | EXPL | `x` the explanation's JSON, accountId, period |
 *
 * The line id alone is the key (a reader needs nothing else: `billing explain L-…`, the finance API),
 * so each line is its own partition: no hot key whatever the close's size.
 */
import type { LineExplanation } from "../../../core/rating/explain/explain.js";
import type { PeriodId } from "../../../core/time.js";
import { MAX_PAYLOAD_BYTES } from "../item-size.js";
import { itemCodec, json, str } from "./codec.js";

export const explanationItem = itemCodec({
  kind: "line explanation",
  key: (k: { lineId: string }) => ({ pk: `EXPL#${k.lineId}`, sk: "EXPL" }),
  fields: {
    /** ≤ 20 samples, figures and corrected line ids, one rate entry: a few KB. */
    explanation: json<LineExplanation>("x"),
    accountId: str("accountId"),
    period: str<PeriodId>("period"),
  },
  maxBytes: MAX_PAYLOAD_BYTES,
});

/**
 * Chunks of close reports' full lists (report-chunks.ts, shared/app/close-report.ts):
 *
 * | item         | pk                        | sk                       | attributes |
 * |--------------|---------------------------|--------------------------|------------|
 * | report chunk | REPORT#<account>#<period> | <list>#<chunk, 6 digits> | `z` deflate of the chunk's JSON array (≤ 1,000 entries, ≤ 100 KB of JSON), `n` its entries |
 */
import type { PeriodId } from "../../../core/time.js";
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { bytes, itemCodec, num } from "./codec.js";

export const reportChunksPk = (accountId: string, period: PeriodId) => `REPORT#${accountId}#${period}`;

/** The list and chunk number a chunk's sort key names. */
export const chunkOfSk = (sk: string) => {
  const at = sk.lastIndexOf("#");
  return { list: sk.slice(0, at), chunk: Number(sk.slice(at + 1)) };
};

export const reportChunkItem = itemCodec({
  kind: "report chunk",
  key: (k: { accountId: string; period: PeriodId; list: string; chunk: number }) => ({
    pk: reportChunksPk(k.accountId, k.period),
    sk: `${k.list}#${String(k.chunk).padStart(6, "0")}`,
  }),
  fields: {
    entries: num("n"),
    /** Checked ≤ MAX_COMPRESSED_BYTES when compressed (item-size.ts). */
    deflated: bytes("z"),
  },
  maxBytes: ITEM_LIMIT_BYTES,
});

/**
 * A close's invoice lines on the billing table, in chunk items (items/closes.ts).
 *
 * A small account's close is one item instead of one per line (DynamoDB writes and read units scale
 * with items and KB: 30 lines of ≈ 500 B each are one ≈ 3 KB item). 100 lines of at most a few KB
 * each stay far below the 400 KB item limit.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { InvoiceLine } from "../../contract/invoice-line.js";
import { compareStrings } from "../../core/compare.js";
import type { PeriodId } from "../../core/time.js";
import { checkedCompressed, MAX_PAYLOAD_BYTES } from "./item-size.js";
import { legacyLineItem, lineChunkItem } from "./items/closes.js";

export const LINES_PER_CHUNK = 100;

/** The chunk items of the lines one close of the account emits (all of period `period`), by reference period. */
export function closeLineChunks(
  accountId: string,
  period: PeriodId,
  lines: readonly InvoiceLine[],
): { item: Record<string, unknown>; bytes: number }[] {
  const byReference = new Map<PeriodId, InvoiceLine[]>();
  for (const l of lines) {
    const list = byReference.get(l.reference_period) ?? [];
    list.push(l);
    byReference.set(l.reference_period, list);
  }
  const out: { item: Record<string, unknown>; bytes: number }[] = [];
  for (const [referencePeriod, list] of byReference) {
    list.sort((a, b) => compareStrings(a.line_id, b.line_id));
    // ≤ 100 lines and ≤ MAX_PAYLOAD_BYTES of UTF-8 JSON per chunk: a line's dimensions and
    // description may quote the sender's text, so the bytes are counted, not assumed.
    let chunk: string[] = [];
    let bytes = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      const key = { accountId, referencePeriod, period, chunk: out.length - before };
      const deflated = checkedCompressed(
        `invoice lines ${lineChunkItem.key(key).sk}`,
        deflateRawSync(Buffer.from(`[${chunk.join(",")}]`)),
      );
      const item = lineChunkItem.item({ ...key, lines: chunk.length, deflated });
      out.push({ item, bytes: deflated.length + 200 });
      chunk = [];
      bytes = 0;
    };
    const before = out.length;
    for (const l of list) {
      const json = JSON.stringify(l);
      const size = Buffer.byteLength(json) + 1;
      if (chunk.length >= LINES_PER_CHUNK || (chunk.length > 0 && bytes + size > MAX_PAYLOAD_BYTES)) flush();
      chunk.push(json);
      bytes += size;
    }
    flush();
  }
  return out;
}

/** The lines an item holds: a chunk's, or the one line of an item written before chunks. */
export function linesOfItem(item: Record<string, unknown>): InvoiceLine[] {
  const { deflated } = lineChunkItem.decode(item);
  if (deflated instanceof Uint8Array)
    return JSON.parse(inflateRawSync(deflated).toString("utf8")) as InvoiceLine[];
  const { line } = legacyLineItem.decode(item);
  return line === undefined ? [] : [line];
}

/**
 * A close's invoice lines on the billing table, in chunk items:
 *
 * | item              | pk             | sk                                             | attributes |
 * |-------------------|----------------|------------------------------------------------|------------|
 * | lines of a close  | BILL#<account> | LINE#<ref period>#<period>#C<chunk, 4 digits>  | `z` deflate of the JSON array of ≤ 100 lines and ≤ 300,000 UTF-8 bytes (line id order), `n` their count, `period` |
 * | one line (older items) | BILL#<account> | LINE#<ref period>#<period>#<line id>       | `line`     |
 *
 * A small account's close is one item instead of one per line (DynamoDB writes and read units scale
 * with items and KB: 30 lines of ≈ 500 B each are one ≈ 3 KB item). Chunk keys (`C…`) and line ids
 * (`L-…`) never collide under the same `LINE#<ref>#<period>#` prefix and readers take both shapes,
 * so one Query by reference period reads old and new items alike, in line id order within each
 * period, as before. 100 lines of at most a few KB each stay far below the 400 KB item limit.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { InvoiceLine } from "../../contract/invoice-line.js";
import { compareStrings } from "../../core/compare.js";
import type { PeriodId } from "../../core/time.js";
import { checkedCompressed, MAX_PAYLOAD_BYTES } from "./item-size.js";

export const LINES_PER_CHUNK = 100;

/** The chunk items of the lines one close emits (all of period `period`), by reference period. */
export function lineChunkItems(
  pk: string,
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
  for (const [reference, list] of byReference) {
    list.sort((a, b) => compareStrings(a.line_id, b.line_id));
    // ≤ 100 lines and ≤ MAX_PAYLOAD_BYTES of UTF-8 JSON per chunk: a line's dimensions and
    // description may quote the sender's text, so the bytes are counted, not assumed.
    let chunk: string[] = [];
    let bytes = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      const sk = `LINE#${reference}#${period}#C${String(out.length - before).padStart(4, "0")}`;
      const z = checkedCompressed(`invoice lines ${sk}`, deflateRawSync(Buffer.from(`[${chunk.join(",")}]`)));
      out.push({ item: { pk, sk, period, n: chunk.length, z }, bytes: z.length + 200 });
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

/** The lines an item holds: a chunk's, or the one line of an item written before lines were chunked. */
export function linesOfItem(item: Record<string, unknown>): InvoiceLine[] {
  if (item.z instanceof Uint8Array)
    return JSON.parse(inflateRawSync(item.z).toString("utf8")) as InvoiceLine[];
  return item.line === undefined ? [] : [item.line as InvoiceLine];
}

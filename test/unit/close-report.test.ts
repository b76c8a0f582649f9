/**
 * Cutting a close report's list into count, samples and chunks (close-report.ts): the pure
 * part, with the chunks collected in memory (the storage is tested on DynamoDB Local in
 * test/integration/close-report-volume.test.ts).
 */
import { describe, expect, it } from "vitest";
import {
  CHUNK_ENTRIES,
  CHUNK_JSON_BYTES,
  REPORT_SAMPLES,
  readReportList,
  storeReportList,
} from "../../shared/app/close-report.js";
import type { ReportChunk } from "../../shared/ports/storage.js";

const collect = () => {
  const chunks: ReportChunk[] = [];
  const sink = async (c: readonly ReportChunk[]) => {
    chunks.push(...c);
    return true;
  };
  return { chunks, sink };
};

describe("a report list of any length", () => {
  it("up to 20 entries: complete in its samples, nothing stored", async () => {
    const { chunks, sink } = collect();
    const list = await storeReportList(
      "conflicts",
      Array.from({ length: REPORT_SAMPLES }, (_, i) => i),
      sink,
    );
    expect(list).toEqual({
      count: REPORT_SAMPLES,
      samples: Array.from({ length: REPORT_SAMPLES }, (_, i) => i),
      chunks: 0,
      where: null,
    });
    expect(chunks).toEqual([]);
  });

  it("more: the first 20 as samples, every entry in order in chunks of ≤ 1,000 entries", async () => {
    const { chunks, sink } = collect();
    const n = 2 * CHUNK_ENTRIES + 21;
    const list = await storeReportList(
      "conflicts",
      Array.from({ length: n }, (_, i) => ({ i })),
      sink,
    );
    expect(list).toMatchObject({ count: n, chunks: 3, where: "conflicts" });
    expect(list?.samples).toEqual(Array.from({ length: REPORT_SAMPLES }, (_, i) => ({ i })));
    expect(chunks.map((c) => [c.list, c.chunk, c.entries.length])).toEqual([
      ["conflicts", 0, CHUNK_ENTRIES],
      ["conflicts", 1, CHUNK_ENTRIES],
      ["conflicts", 2, 21],
    ]);
    const store = {
      readReportChunk: async (_a: string, _p: string, l: string, k: number) =>
        chunks.find((c) => c.list === l && c.chunk === k)?.entries,
    };
    const all = [];
    for await (const e of readReportList(store, "acme", "2025-07", list!)) all.push(e);
    expect(all).toEqual(Array.from({ length: n }, (_, i) => ({ i })));
  });

  it("long entries: chunks are cut at 100 KB of JSON", async () => {
    const { chunks, sink } = collect();
    const entry = (i: number) => ({ i, reason: "r".repeat(9_000) });
    const list = await storeReportList(
      "rejectedMessages",
      Array.from({ length: 50 }, (_, i) => entry(i)),
      sink,
    );
    expect(list?.chunks).toBe(chunks.length);
    expect(chunks.length).toBeGreaterThan(4);
    for (const c of chunks)
      expect(Buffer.byteLength(JSON.stringify(c.entries))).toBeLessThanOrEqual(CHUNK_JSON_BYTES);
    expect(chunks.flatMap((c) => c.entries)).toEqual(Array.from({ length: 50 }, (_, i) => entry(i)));
  });

  it("an async source is read as it goes; a lost claim stops the list (undefined)", async () => {
    async function* entries() {
      for (let i = 0; i < 30 * CHUNK_ENTRIES; i++) yield i;
    }
    let calls = 0;
    const list = await storeReportList("conflicts", entries(), async () => {
      calls += 1;
      return false;
    });
    expect(list).toBeUndefined();
    expect(calls).toBe(1); // stopped at the first refused write
  });
});

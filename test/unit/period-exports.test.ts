/**
 * The exports bucket's layout and bytes, pure: the streamed objects are
 * byte for byte the contract §4 exports, whatever order a line's keys come back from storage in.
 */
import { describe, expect, it } from "vitest";
import { closeLineChunks, linesOfItem } from "../../shared/adapters/dynamodb/line-chunks.js";
import { type InvoiceLine, invoiceLineColumns } from "../../shared/contract/invoice-line.js";
import {
  accountExportKeys,
  accountSegment,
  invoiceLinesCsvChunks,
  invoiceLinesJsonChunks,
  invoiceLinesJsonlChunks,
  type ManifestEntry,
  manifestKey,
  periodManifest,
} from "../../shared/core/period-exports.js";
import { invoiceLinesToCsv, sortInvoiceLines } from "../../shared/core/rating/invoice.js";

const line = (i: number, over: Partial<InvoiceLine> = {}): InvoiceLine => ({
  account_id: "acme",
  period: "2025-07",
  line_id: `L-${i}`,
  line_type: "usage",
  product: `sms.mt.${String(i).padStart(4, "0")}`,
  dimensions: i % 3 === 0 ? 'country=FR;network=a,"b"' : "country=DE",
  description: "SMS, line\nbreak",
  quantity: String(i),
  unit: "message",
  unit_price: "0.01",
  amount: (i / 100).toFixed(2),
  currency: "EUR",
  billing_channel: "direct",
  reference_period: "2025-07",
  tariff_version: "2025-01-01T00:00:00Z",
  ...over,
});
/** The same line with its keys reversed, as DynamoDB may return a map. */
const shuffled = (l: InvoiceLine) => Object.fromEntries(Object.entries(l).reverse()) as InvoiceLine;

describe("objects of the exports bucket by period", () => {
  // 1,203 lines: several 500-line chunks and a partial one, given in reverse order.
  const lines = Array.from({ length: 1203 }, (_, i) => line(1203 - i));
  const sorted = sortInvoiceLines([...lines]);

  it("lines.csv is contract §4's CSV, lines.json its array, lines.jsonl one line object per line", () => {
    expect([...invoiceLinesCsvChunks(lines.map(shuffled))].join("")).toBe(invoiceLinesToCsv(sorted));
    expect([...invoiceLinesJsonChunks(lines.map(shuffled))].join("")).toBe(
      `${JSON.stringify(sorted, null, 2)}\n`,
    );
    const jsonl = [...invoiceLinesJsonlChunks(lines.map(shuffled))].join("").split("\n");
    expect(jsonl.pop()).toBe("");
    expect(jsonl.map((l) => JSON.parse(l))).toEqual(sorted);
    expect(Object.keys(JSON.parse(jsonl[0]!))).toEqual([...invoiceLineColumns]);
    expect([...invoiceLinesCsvChunks(lines)].length).toBeGreaterThan(3); // streamed in chunks
  });

  it("no lines: a header, an empty array, an empty JSON Lines object", () => {
    expect([...invoiceLinesCsvChunks([])].join("")).toBe(invoiceLinesToCsv([]));
    expect([...invoiceLinesJsonChunks([])].join("")).toBe("[]\n");
    expect([...invoiceLinesJsonlChunks([])].join("")).toBe("");
  });

  it("keys are Hive-style partitions by period and account; an id is URL-encoded, a very long one hashed", () => {
    expect(accountExportKeys("2025-07", "a/b c")).toEqual({
      csv: "invoice-lines/period=2025-07/account=a%2Fb%20c/lines.csv",
      json: "invoice-lines/period=2025-07/account=a%2Fb%20c/lines.json",
      jsonl: "invoice-lines/jsonl/period=2025-07/account=a%2Fb%20c/lines.jsonl",
      report: "close-reports/period=2025-07/account=a%2Fb%20c/report.json",
    });
    expect(accountSegment("x".repeat(512))).toBe("x".repeat(512));
    expect(accountSegment("é".repeat(200))).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(accountSegment("é".repeat(200))).not.toBe(accountSegment("é".repeat(201)));
  });

  it("the manifest lists accounts in id order, and splits into parts past the part size", () => {
    const obj = (key: string) => ({ key, bytes: 1, sha256: "0" });
    const entry = (accountId: string, n: number): ManifestEntry => ({
      accountId,
      lines: n,
      csv: obj(`${accountId}.csv`),
      json: obj(`${accountId}.json`),
      jsonl: obj(`${accountId}.jsonl`),
      report: obj(`${accountId}.report`),
    });
    const entries = ["c", "a", "e", "b", "d"].map((a, i) => entry(a, i));
    const one = periodManifest("2025-07", entries);
    expect(one.map((m) => m.key)).toEqual([manifestKey("2025-07")]);
    expect(JSON.parse(one[0]!.body)).toMatchObject({ period: "2025-07", accounts: 5, lines: 10 });
    expect(JSON.parse(one[0]!.body).objects.map((e: ManifestEntry) => e.accountId)).toEqual([
      "a",
      "b",
      "c",
      "d",
      "e",
    ]);
    const parts = periodManifest("2025-07", entries, 2);
    expect(parts.map((m) => m.key)).toEqual([
      "invoice-lines/period=2025-07/_manifest-00001.json",
      "invoice-lines/period=2025-07/_manifest-00002.json",
      "invoice-lines/period=2025-07/_manifest-00003.json",
      "invoice-lines/period=2025-07/_manifest.json",
    ]);
    expect(
      parts.slice(0, 3).flatMap((p) => JSON.parse(p.body).objects.map((e: ManifestEntry) => e.accountId)),
    ).toEqual(["a", "b", "c", "d", "e"]);
    expect(JSON.parse(parts[3]!.body)).toEqual({
      period: "2025-07",
      accounts: 5,
      lines: 10,
      parts: parts.slice(0, 3).map((p) => p.key),
    });
    // Same entries in any order, same bytes.
    expect(periodManifest("2025-07", [...entries].reverse(), 2)).toEqual(parts);
  });
});

describe("a close's lines in chunk items", () => {
  it("chunks ≤ 100 lines by reference period, read back in line id order; a one-line item reads as its line", () => {
    const own = Array.from({ length: 230 }, (_, i) => line(229 - i));
    const adjustments = [2, 1].map((i) => line(i, { reference_period: "2025-06" }));
    const items = closeLineChunks("acme", "2025-07", [...own, ...adjustments]);
    expect(items.map((c) => [c.item.sk, c.item.n])).toEqual([
      ["LINE#2025-07#2025-07#C0000", 100],
      ["LINE#2025-07#2025-07#C0001", 100],
      ["LINE#2025-07#2025-07#C0002", 30],
      ["LINE#2025-06#2025-07#C0000", 2],
    ]);
    const byId = (a: InvoiceLine, b: InvoiceLine) => (a.line_id < b.line_id ? -1 : 1);
    expect(items.slice(0, 3).flatMap((c) => linesOfItem(c.item))).toEqual([...own].sort(byId));
    expect(linesOfItem(items[3]!.item)).toEqual([...adjustments].sort(byId));
    // Each chunk far below the 400 KB item limit.
    for (const c of items) expect(c.bytes).toBeLessThan(50_000);
    expect(linesOfItem({ pk: "BILL#acme", sk: "LINE#2025-07#2025-07#L-1", line: line(1) })).toEqual([
      line(1),
    ]);
  });
});

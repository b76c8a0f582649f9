/**
 * Sizes in UTF-8 bytes, cuts between whole characters (issue 22 item 1): the text helpers, the
 * raw-event pages and the invoice-line chunks, each item's payload within its stated bound.
 */
import { inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { MAX_COMPRESSED_BYTES, MAX_PAYLOAD_BYTES } from "../../shared/adapters/dynamodb/item-size.js";
import { closeLineChunks, linesOfItem } from "../../shared/adapters/dynamodb/line-chunks.js";
import { packPages } from "../../shared/adapters/dynamodb/usage-store.js";
import { boundText } from "../../shared/app/dead-letters.js";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { codePointPrefix, utf8Parts } from "../../shared/core/utf8.js";

describe("UTF-8 parts", () => {
  it("cuts only between whole characters; the parts' bytes are the text's", () => {
    const s = `a${"😀é中".repeat(3_000)}`;
    for (const max of [4, 5, 7, 1000, 65_537]) {
      const parts = utf8Parts(s, max);
      for (const p of parts) {
        expect(p.length).toBeLessThanOrEqual(max);
        // Each part decodes alone, with no replacement character.
        expect(p.toString("utf8")).not.toContain("\uFFFD");
      }
      expect(Buffer.concat(parts).toString("utf8")).toBe(s);
    }
    expect(utf8Parts("", 10).map((p) => p.length)).toEqual([0]);
    expect(() => utf8Parts("x", 3)).toThrow(RangeError);
  });
  it("a prefix in UTF-16 units never ends inside a surrogate pair", () => {
    expect(codePointPrefix("a😀b", 2)).toBe("a");
    expect(codePointPrefix("a😀b", 3)).toBe("a😀");
    expect(boundText("a😀b", 2)).toBe("a… (3 more characters)");
  });
});

const event = (i: number, note: string): LedgerEvent =>
  ({
    specversion: "1.0",
    id: `c-${i}`,
    source: "/voice",
    type: "voice.call",
    subject: "acme",
    time: "2025-07-02T09:00:00Z",
    t: Date.UTC(2025, 6, 2, 9),
    data: { callId: `c-${i}`, note },
  }) as unknown as LedgerEvent;

describe("raw-event pages", () => {
  it("hold at most MAX_PAYLOAD_BYTES of UTF-8 JSON each, whatever the characters", () => {
    // 83,000 CJK characters: 249 KB each; three made one 750 KB page when counted in characters.
    const events = Array.from({ length: 5 }, (_, i) => event(i, "中".repeat(83_000)));
    const pages = packPages(events);
    expect(pages.map((p) => p.c)).toEqual([1, 1, 1, 1, 1]);
    const back = pages.flatMap((p) => {
      const raw = inflateRawSync(p.z);
      expect(raw.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
      expect(p.z.length).toBeLessThanOrEqual(MAX_COMPRESSED_BYTES);
      return JSON.parse(raw.toString("utf8")) as LedgerEvent[];
    });
    expect(back).toEqual(events);
    // Small events still share a page.
    expect(
      packPages(Array.from({ length: 50 }, (_, i) => event(i, "😀".repeat(100)))).map((p) => p.c),
    ).toEqual([50]);
  });
});

describe("invoice line chunks", () => {
  it("hold ≤ 100 lines and ≤ MAX_PAYLOAD_BYTES of UTF-8 JSON", () => {
    const line = (i: number): InvoiceLine => ({
      account_id: "acme",
      period: "2025-07",
      line_id: `L-${String(i).padStart(3, "0")}`,
      line_type: "usage",
      product: "voice.minute",
      dimensions: `note=${"😀".repeat(10_000)}`,
      description: "中".repeat(5_000),
      quantity: "1",
      unit: "minute",
      unit_price: "0.01",
      amount: "0.01",
      currency: "EUR",
      billing_channel: "direct",
      reference_period: "2025-07",
      tariff_version: "v1",
    });
    const lines = Array.from({ length: 60 }, (_, i) => line(i));
    const items = closeLineChunks("acme", "2025-07", lines);
    expect(items.length).toBeGreaterThan(1);
    for (const c of items) {
      const z = c.item.z as Uint8Array;
      expect(inflateRawSync(z).length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    }
    expect(items.map((c) => c.item.sk)).toEqual(
      items.map((_, n) => `LINE#2025-07#2025-07#C${String(n).padStart(4, "0")}`),
    );
    expect(items.flatMap((c) => linesOfItem(c.item))).toEqual(lines);
  });
});

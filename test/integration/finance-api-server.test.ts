/**
 * The local finance API server streams a large body to a slow client under backpressure (chunked,
 * every byte in order, no listener piling up), and aborts the connection when the body fails
 * mid-stream, so a client never takes a cut CSV for a whole one. The handlers here produce bodies;
 * the real handler on real storage is test/integration/finance-api.test.ts.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { type FinanceApiServer, startFinanceApiServer } from "../../local/finance-api-server.js";
import type { StreamedResult } from "../../shared/app/finance-api.js";

const CHUNK = "x".repeat(64 * 1024 - 1);
const CHUNKS = 160; // 10 MB: far past the socket buffers, so writes wait for the client

const streamed = (chunks: () => AsyncIterable<string>): StreamedResult => ({
  statusCode: 200,
  headers: { "content-type": "text/csv; charset=utf-8" },
  chunks: chunks(),
});

/** GET with a reader that pauses after each piece: the server must wait for it. */
const slowGet = (url: string) =>
  new Promise<{ headers: Record<string, unknown>; bytes: number; lines: Set<string>; aborted: boolean }>(
    (done) => {
      request(url, (m) => {
        let bytes = 0;
        let tail = "";
        const lines = new Set<string>();
        let aborted = false;
        m.setEncoding("utf8");
        m.on("data", (d: string) => {
          bytes += Buffer.byteLength(d);
          const parts = (tail + d).split("\n");
          tail = parts.pop() ?? "";
          for (const p of parts) lines.add(p.slice(0, 8));
          m.pause();
          setImmediate(() => m.resume());
        });
        m.on("aborted", () => {
          aborted = true;
        });
        m.on("error", () => {
          aborted = true;
        });
        m.on("close", () => done({ headers: m.headers, bytes, lines, aborted }));
      })
        // No response at all (the connection closed before the head arrived): aborted as well.
        .on("error", () => done({ headers: {}, bytes: 0, lines: new Set(), aborted: true }))
        .end();
    },
  );

describe("local finance API server", () => {
  let server: FinanceApiServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("streams 10 MB chunk by chunk to a slow client, every byte, without piling up listeners", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      server = await startFinanceApiServer(async () =>
        streamed(async function* () {
          for (let i = 0; i < CHUNKS; i++) yield `${String(i).padStart(7, "0")}${CHUNK.slice(8)}\n`;
        }),
      );
      const r = await slowGet(`${server.url}/periods/2025-07/invoice-lines?format=csv`);
      expect(r.aborted).toBe(false);
      expect(r.headers["transfer-encoding"]).toBe("chunked");
      expect(r.bytes).toBe(CHUNKS * CHUNK.length);
      expect(r.lines.size).toBe(CHUNKS);
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("aborts the connection when the body fails after the status was sent", async () => {
    server = await startFinanceApiServer(async () =>
      streamed(async function* () {
        yield "account_id,period\n";
        yield "acme,2025-07\n";
        throw new Error("DynamoDB read failed");
      }),
    );
    const r = await slowGet(`${server.url}/periods/2025-07/invoice-lines?format=csv`);
    // Never a response that ends normally: the client sees the failure, not a short CSV.
    expect(r.aborted).toBe(true);
  });
});

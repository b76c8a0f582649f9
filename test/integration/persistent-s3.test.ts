/**
 * The local stack's S3 store on disk (local/persistent-s3.ts): objects written by PutObject and by a
 * multipart upload are there again after the server is stopped and started on the same directory,
 * and a deleted object stays deleted. fauxqs serves the S3 API; only its store is ours.
 */
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { startSqsServer } from "../../local/sqs-server.js";
import { ensureBucket, s3Client } from "../../shared/adapters/s3/blob-store.js";
import { S3ExportObjects } from "../../shared/adapters/s3/export-objects.js";

const dir = mkdtempSync(join(tmpdir(), "billing-s3-store-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

async function withServer<T>(run: (s3: S3Client) => Promise<T>): Promise<T> {
  const server = await startSqsServer({ s3DataDir: dir });
  const s3 = s3Client({ region: "us-east-1", s3Endpoint: server.endpoint });
  try {
    return await run(s3);
  } finally {
    s3.destroy();
    await server.stop();
  }
}

const text = async (s3: S3Client, Key: string) =>
  (await (await s3.send(new GetObjectCommand({ Bucket: "b", Key }))).Body?.transformToString("utf-8")) ?? "";

describe("the local stack's S3 store on disk", () => {
  it("keeps put, multipart and deleted objects across a restart", async () => {
    const row = `${"x".repeat(99)}\n`;
    const big = row.repeat(60_000); // 6,000,000 bytes: a multipart upload
    await withServer(async (s3) => {
      await ensureBucket(s3, "b");
      await s3.send(
        new PutObjectCommand({
          Bucket: "b",
          Key: "dead-letters/a b=c%",
          Body: "small",
          ContentType: "text/plain",
        }),
      );
      await s3.send(new PutObjectCommand({ Bucket: "b", Key: "gone", Body: "soon deleted" }));
      const written = await new S3ExportObjects(s3, "b").write(
        "invoice-lines/period=2025-07/account=big/lines.csv",
        (function* () {
          for (let i = 0; i < 600; i++) yield row.repeat(100);
        })(),
        "text/csv",
      );
      expect(written.bytes).toBe(6_000_000);
      await s3.send(new DeleteObjectCommand({ Bucket: "b", Key: "gone" }));
    });
    // Two files per object kept: no temporary file, nothing of the deleted one.
    expect((await readdir(dir)).map((f) => f.replace(/^[0-9a-f]{64}/, "H")).sort()).toEqual([
      "H.body",
      "H.body",
      "H.json",
      "H.json",
    ]);
    await withServer(async (s3) => {
      const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: "b" }))).Contents ?? []).map(
        (o) => o.Key,
      );
      expect(keys.sort()).toEqual([
        "dead-letters/a b=c%",
        "invoice-lines/period=2025-07/account=big/lines.csv",
      ]);
      expect(await text(s3, "dead-letters/a b=c%")).toBe("small");
      const r = await s3.send(new GetObjectCommand({ Bucket: "b", Key: "dead-letters/a b=c%" }));
      expect(r.ContentType).toBe("text/plain");
      expect(sha256(await text(s3, "invoice-lines/period=2025-07/account=big/lines.csv"))).toBe(sha256(big));
    });
  });
});

/**
 * The ExportObjects port on S3 (the exports bucket; locally fauxqs's S3): each object is streamed
 * through `@aws-sdk/lib-storage`'s Upload — one PutObject below 5 MB, a multipart upload above — and
 * hashed as it goes, so an object is never held whole in memory.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { ExportedObject } from "../../core/period-exports.js";
import type { ExportObjects } from "../../ports/export-objects.js";

/** S3's smallest multipart part: objects below it go in one PutObject. */
const PART_BYTES = 5 * 1024 * 1024;

export class S3ExportObjects implements ExportObjects {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async write(
    key: string,
    chunks: Iterable<string> | AsyncIterable<string>,
    contentType: string,
  ): Promise<ExportedObject> {
    const hash = createHash("sha256");
    let bytes = 0;
    async function* body() {
      for await (const chunk of chunks) {
        const b = Buffer.from(chunk, "utf8");
        hash.update(b);
        bytes += b.length;
        if (b.length > 0) yield b;
      }
    }
    await new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: key, Body: Readable.from(body()), ContentType: contentType },
      partSize: PART_BYTES,
      queueSize: 2,
      // The close worker may not abort uploads (its role has s3:PutObject only): the bucket's
      // lifecycle rule removes an interrupted upload's parts after a day (infra/billing-stack.ts).
      leavePartsOnError: true,
    }).done();
    return { key, bytes, sha256: hash.digest("hex") };
  }
}

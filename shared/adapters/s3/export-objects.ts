/**
 * The ExportObjects port on S3 (the exports bucket; locally fauxqs's S3). An object is gathered up
 * to 5 MB: below that (every account's objects but the largest) it goes in one PutObject with its
 * SHA-256 as S3's checksum; past it, the gathered part and the rest are streamed through
 * `@aws-sdk/lib-storage`'s Upload (multipart), hashed as they go, so an object is never held whole.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
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
    // Every chunk as bytes, hashed and counted as it is pulled.
    const hashed = (async function* () {
      for await (const chunk of chunks) {
        const b = Buffer.from(chunk, "utf8");
        hash.update(b);
        bytes += b.length;
        if (b.length > 0) yield b;
      }
    })();
    // Gather until the object is known to fit in one PutObject, or a part's worth is held.
    const head: Buffer[] = [];
    let done = false;
    while (bytes < PART_BYTES && !done) {
      const r = await hashed.next();
      if (r.done) done = true;
      else head.push(r.value);
    }
    const params = { Bucket: this.bucket, Key: key, ContentType: contentType };
    if (done) {
      await this.s3.send(
        new PutObjectCommand({
          ...params,
          Body: Buffer.concat(head),
          ChecksumSHA256: hash.copy().digest("base64"),
        }),
      );
      return { key, bytes, sha256: hash.digest("hex") };
    }
    async function* body() {
      yield* head;
      yield* hashed;
    }
    await new Upload({
      client: this.s3,
      params: { ...params, Body: Readable.from(body()) },
      partSize: PART_BYTES,
      queueSize: 2,
      // The close worker may not abort uploads (its role has s3:PutObject only): the bucket's
      // lifecycle rule removes an interrupted upload's parts after a day (infra/constructs/exports-buckets.ts).
      leavePartsOnError: true,
    }).done();
    return { key, bytes, sha256: hash.digest("hex") };
  }
}

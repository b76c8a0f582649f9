/**
 * fauxqs's S3 store, kept on disk (the local stack's DIR/s3): every object written through the S3
 * API is also written to a file, removed with it, and read back when the store is built again at the
 * next start. fauxqs itself keeps nothing between runs; without this a restarted stack's manifests
 * would name objects that no longer exist and a large dead letter could not be redriven.
 *
 * Write-through, synchronously, before the S3 call answers: an object the client was told is stored
 * is on disk, whatever stops the stack afterwards. One object is two files named by the SHA-256 of
 * (bucket, key) — keys hold `/`, `=` and `%` and can be 1,024 bytes, longer than a file name —:
 * `<hash>.body` (the bytes) and `<hash>.json` (bucket, key, content type, metadata), the JSON written
 * last and renamed into place, so a half-written object is never loaded.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The part of fauxqs's S3Store (dist/s3/s3Store.js) this extends. */
interface S3StoreLike {
  createBucket(name: string): void;
  hasBucket(name: string): boolean;
  putObject(
    bucket: string,
    key: string,
    body: Buffer,
    contentType?: string,
    metadata?: Record<string, string>,
  ): { key: string };
  deleteObject(bucket: string, key: string): void;
  deleteObjects(bucket: string, keys: string[]): string[];
  completeMultipartUpload(
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): {
    key: string;
    body: Buffer;
    contentType: string;
    metadata: Record<string, string>;
  };
  emptyBucket(name: string): void;
  clearObjects(): void;
  purgeAll(): void;
  listObjects(bucket: string, options?: { prefix?: string }): { objects: { key: string }[] };
  listBuckets(): { name: string }[];
}
type S3StoreClass = new () => S3StoreLike;

interface StoredObject {
  readonly bucket: string;
  readonly key: string;
  readonly contentType?: string;
  readonly metadata?: Record<string, string>;
}

/** fauxqs's S3Store class, found beside its entry point (its package exports only the entry). */
async function fauxqsS3Store(): Promise<S3StoreClass> {
  const entry = import.meta.resolve("fauxqs");
  const mod = (await import(new URL("./s3/s3Store.js", entry).href)) as { S3Store?: S3StoreClass };
  if (typeof mod.S3Store !== "function")
    throw new Error("fauxqs no longer has dist/s3/s3Store.js's S3Store: local/persistent-s3.ts needs a look");
  return mod.S3Store;
}

/** An S3 store for fauxqs's buildApp whose objects live in `dir` too; loads what `dir` holds. */
export async function persistentS3Store(dir: string): Promise<object> {
  const Base = await fauxqsS3Store();
  mkdirSync(dir, { recursive: true });
  const name = (bucket: string, key: string) =>
    createHash("sha256")
      .update(JSON.stringify([bucket, key]))
      .digest("hex");
  const write = (o: StoredObject, body: Buffer) => {
    const base = join(dir, name(o.bucket, o.key));
    writeFileSync(`${base}.body`, body);
    writeFileSync(`${base}.json.tmp`, JSON.stringify(o));
    renameSync(`${base}.json.tmp`, `${base}.json`);
  };
  const remove = (bucket: string, key: string) => {
    const base = join(dir, name(bucket, key));
    rmSync(`${base}.json`, { force: true });
    rmSync(`${base}.body`, { force: true });
  };
  const removeBucket = (store: S3StoreLike, bucket: string) => {
    for (const o of store.listObjects(bucket).objects) remove(bucket, o.key);
  };

  class PersistentS3Store extends Base {
    private loading = false;
    /** Multipart uploads in progress: their bucket, which the completed object does not name. */
    private readonly uploadBuckets = new Map<string, string>();

    override putObject(
      bucket: string,
      key: string,
      body: Buffer,
      contentType?: string,
      metadata?: Record<string, string>,
    ) {
      const o = super.putObject(bucket, key, body, contentType, metadata);
      if (!this.loading)
        write(
          { bucket, key, ...(contentType ? { contentType } : {}), ...(metadata ? { metadata } : {}) },
          body,
        );
      return o;
    }
    createMultipartUpload(bucket: string, ...rest: unknown[]): string {
      const id = (
        Base.prototype as unknown as { createMultipartUpload: (...a: unknown[]) => string }
      ).createMultipartUpload.call(this, bucket, ...rest);
      this.uploadBuckets.set(id, bucket);
      return id;
    }
    override completeMultipartUpload(uploadId: string, parts: { partNumber: number; etag: string }[]) {
      const bucket = this.uploadBuckets.get(uploadId);
      const o = super.completeMultipartUpload(uploadId, parts);
      this.uploadBuckets.delete(uploadId);
      if (bucket !== undefined)
        write({ bucket, key: o.key, contentType: o.contentType, metadata: o.metadata }, o.body);
      return o;
    }
    override deleteObject(bucket: string, key: string): void {
      super.deleteObject(bucket, key);
      remove(bucket, key);
    }
    override deleteObjects(bucket: string, keys: string[]): string[] {
      const deleted = super.deleteObjects(bucket, keys);
      for (const k of deleted) remove(bucket, k);
      return deleted;
    }
    override emptyBucket(bucket: string): void {
      if (this.hasBucket(bucket)) removeBucket(this, bucket);
      super.emptyBucket(bucket);
    }
    override clearObjects(): void {
      for (const b of this.listBuckets()) removeBucket(this, b.name);
      super.clearObjects();
    }
    override purgeAll(): void {
      for (const b of this.listBuckets()) removeBucket(this, b.name);
      super.purgeAll();
    }

    /** Every complete object in `dir`, back in memory. */
    load(): number {
      this.loading = true;
      let n = 0;
      try {
        for (const f of readdirSync(dir)) {
          if (!f.endsWith(".json")) continue;
          const o = JSON.parse(readFileSync(join(dir, f), "utf8")) as StoredObject;
          const body = readFileSync(join(dir, `${f.slice(0, -".json".length)}.body`));
          if (!this.hasBucket(o.bucket)) this.createBucket(o.bucket);
          this.putObject(o.bucket, o.key, body, o.contentType, o.metadata);
          n += 1;
        }
      } finally {
        this.loading = false;
      }
      return n;
    }
  }
  const store = new PersistentS3Store();
  store.load();
  return store;
}

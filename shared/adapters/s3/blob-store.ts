/** The BlobStore port on S3: the stack's exports bucket, or the local stack's bucket on fauxqs. */
import {
  BucketAlreadyExists,
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { BlobRefusedError, type BlobStore } from "../../ports/blob-store.js";
import { isTransientError } from "../aws-errors.js";

/** An S3 client for the region, or for a local endpoint (fauxqs serves path-style S3 on its one port). */
export function s3Client(e: { readonly region: string; readonly s3Endpoint?: string | undefined }): S3Client {
  return new S3Client({
    region: e.region,
    ...(e.s3Endpoint
      ? {
          endpoint: e.s3Endpoint,
          credentials: { accessKeyId: "local", secretAccessKey: "local" },
          forcePathStyle: true,
        }
      : {}),
  });
}

export class S3BlobStore implements BlobStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /** A refusal the SDK does not classify as transient (throttling, 5xx, network) is BlobRefusedError. */
  async put(key: string, body: string): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: "application/octet-stream",
        }),
      );
    } catch (e) {
      if (isTransientError(e)) throw e;
      throw new BlobRefusedError(key, { cause: e });
    }
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return r.Body ? await r.Body.transformToString("utf-8") : "";
    } catch (e) {
      if ((e as { name?: string })?.name === "NoSuchKey") return undefined;
      throw e;
    }
  }
}

/** Creates the bucket if it does not exist (the local stack; the deployed bucket comes from the CDK stack). */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    if (!(e instanceof BucketAlreadyOwnedByYou) && !(e instanceof BucketAlreadyExists)) throw e;
  }
}

/**
 * Bodies too large for a billing-table item, kept whole in an object store (the exports bucket, S3):
 * a dead letter keeps its excerpt and hash in the table and its full body here.
 */
import { BillingError } from "../core/errors.js";

export interface BlobStore {
  /**
   * Stores the body. Throws BlobRefusedError when the store refused it for a reason the same call
   * will not get past (a denied grant, a KMS key, a bad request); any other error may pass if the
   * call is simply made again (throttling, 5xx, the network) or is a bug.
   */
  put(key: string, body: string): Promise<void>;
  /** The object's text, or undefined when there is no such object. */
  get(key: string): Promise<string | undefined>;
}

/** The blob store refused a body for good: making the same call again would not store it. */
export class BlobRefusedError extends BillingError {
  override readonly name = "BlobRefusedError";
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`the blob store refused ${key}`, options);
  }
}

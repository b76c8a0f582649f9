/**
 * Bodies too large for a billing-table item, kept whole in an object store (the exports bucket, S3):
 * a dead letter keeps its excerpt and hash in the table and its full body here.
 */
export interface BlobStore {
  put(key: string, body: string): Promise<void>;
  /** The object's text, or undefined when there is no such object. */
  get(key: string): Promise<string | undefined>;
}

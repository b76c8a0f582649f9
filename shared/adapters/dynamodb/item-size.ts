/**
 * What an item may hold. DynamoDB's limit is 400 KB per item, counted in UTF-8 bytes of attribute
 * names and values (binary: its length). Every item that holds user text or compressed data is sized
 * here, in bytes, never in string length (a CJK character is 1 UTF-16 unit and 3 bytes; an emoji, 2
 * and 4).
 */
import { BillingError } from "../../core/errors.js";

/** DynamoDB's item size limit. */
export const ITEM_LIMIT_BYTES = 400 * 1024;
/**
 * The user payload of one item before compression (a page of raw events, a snapshot part): at most
 * this many bytes of UTF-8 JSON. Deflate never grows data by more than a few bytes per 16 KB block,
 * so the compressed attribute stays far below MAX_COMPRESSED_BYTES.
 */
export const MAX_PAYLOAD_BYTES = 300_000;
/**
 * A compressed attribute (deflate of at most MAX_PAYLOAD_BYTES), checked before it is written: the
 * ≥ 29 KB left are for the key (partition ≤ 2,048 bytes, sort ≤ 1,024) and the small attributes.
 */
export const MAX_COMPRESSED_BYTES = 380_000;

/** An item we were about to write would exceed DynamoDB's limit: our bug, never the sender's. */
export class ItemTooLargeError extends BillingError {
  override readonly name = "ItemTooLargeError";
  constructor(
    readonly what: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`${what}: ${bytes} bytes is over the ${limit}-byte bound of one item's payload`);
  }
}

/** The compressed bytes, checked against MAX_COMPRESSED_BYTES. */
export function checkedCompressed<T extends Uint8Array>(what: string, z: T): T {
  if (z.length > MAX_COMPRESSED_BYTES) throw new ItemTooLargeError(what, z.length, MAX_COMPRESSED_BYTES);
  return z;
}

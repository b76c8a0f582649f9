/**
 * What an item may hold. DynamoDB's limit is 400 KB per item, counted in UTF-8 bytes of attribute
 * names and values (binary: its length). Every item that holds user text or compressed data is sized
 * here, in bytes, never in string length (a CJK character is 1 UTF-16 unit and 3 bytes; an emoji, 2
 * and 4).
 */
import { deflateRawSync } from "node:zlib";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
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

/**
 * JSON pieces as deflated JSON arrays of at most `maxBytes` UTF-8 bytes each (a piece and its comma
 * counted; `start` the bytes counted before the first), in order, each compressed size checked.
 */
export function deflatedJsonArrays(
  pieces: readonly string[],
  maxBytes: number,
  what: (count: number) => string,
  start = 0,
): { count: number; z: Buffer }[] {
  const out: { count: number; z: Buffer }[] = [];
  let chunk: string[] = [];
  let size = start;
  const flush = () => {
    if (chunk.length === 0) return;
    const z = deflateRawSync(Buffer.from(`[${chunk.join(",")}]`));
    out.push({ count: chunk.length, z: checkedCompressed(what(chunk.length), z) });
    chunk = [];
    size = start;
  };
  for (const p of pieces) {
    const bytes = Buffer.byteLength(p) + 1;
    if (size + bytes > maxBytes) flush();
    chunk.push(p);
    size += bytes;
  }
  flush();
  return out;
}

/**
 * An item's size as DynamoDB bills and limits it: each attribute's name plus its value (strings in
 * UTF-8 bytes, binary its length, a number 1 byte per 2 significant digits plus 1, a list or map
 * 3 bytes plus 1 per element and its elements), as the low-level client sends it.
 */
export function avItemBytes(item: Record<string, AttributeValue>): number {
  let s = 0;
  for (const [k, v] of Object.entries(item)) s += Buffer.byteLength(k) + avValueBytes(v);
  return s;
}

export function avValueBytes(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return numberBytes(v.N);
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.M) return 3 + avItemBytes(v.M);
  if (v.L) return 3 + v.L.reduce((s, x) => s + 1 + avValueBytes(x), 0);
  if (v.SS) return v.SS.reduce((s, x) => s + Buffer.byteLength(x), 0);
  if (v.NS) return v.NS.reduce((s, x) => s + numberBytes(x), 0);
  if (v.BS) return v.BS.reduce((s, x) => s + x.byteLength, 0);
  return Buffer.byteLength(JSON.stringify(v));
}

const numberBytes = (n: string) => Math.ceil(n.replace(/^-|\.|e.*$/g, "").length / 2) + 1;

/** The same size for an item as the document client writes it (plain values, Sets, Uint8Arrays). */
export function itemBytes(item: Record<string, unknown>): number {
  let s = 0;
  for (const [k, v] of Object.entries(item)) if (v !== undefined) s += Buffer.byteLength(k) + valueBytes(v);
  return s;
}

function valueBytes(v: unknown): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (typeof v === "number" || typeof v === "bigint") return numberBytes(String(v));
  if (typeof v === "boolean" || v === null) return 1;
  if (v instanceof Uint8Array) return v.byteLength;
  if (v instanceof Set) return [...v].reduce((s: number, x) => s + valueBytes(x), 0);
  if (Array.isArray(v)) return 3 + v.reduce((s: number, x) => s + 1 + valueBytes(x), 0);
  if (typeof v === "object") return 3 + itemBytes(v as Record<string, unknown>);
  return 0;
}

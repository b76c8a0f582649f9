/**
 * Objects of the exports bucket by period: invoice lines and close reports,
 * written from a stream of text chunks so that no object is built whole in memory.
 */
import type { ExportedObject } from "../core/period-exports.js";

export interface ExportObjects {
  /** Writes the object from its chunks (UTF-8); returns its key, size in bytes and SHA-256. */
  write(
    key: string,
    chunks: Iterable<string> | AsyncIterable<string>,
    contentType: string,
  ): Promise<ExportedObject>;
}

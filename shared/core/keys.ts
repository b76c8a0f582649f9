/**
 * Composite in-memory map keys, built one way: the JSON text of the array of the values. No value
 * can run into the next (a `|` or `\u0000` join collides once a value holds the separator), values
 * may be strings, numbers or plain JSON data, and the parts read back with `keyParts`.
 * Stored DynamoDB keys keep their own documented formats (docs/data-model.md); this is for maps and sets.
 */
export const compositeKey = (...parts: readonly unknown[]): string => JSON.stringify(parts);

/** The values of a key made by `compositeKey`, in order. */
export const keyParts = <T extends readonly unknown[] = string[]>(key: string): T => JSON.parse(key) as T;

/**
 * The one string comparator: code-unit order (as `<`), 0 for equal strings, so that it is a total
 * order `Array.prototype.sort` can rely on. Locale-free on purpose: orders must not vary by host.
 */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Sizes are UTF-8 bytes (DynamoDB's 400 KB item limit, SQS's message limit), and text is cut only
 * between whole code points: a cut inside a surrogate pair would store two U+FFFD in its place.
 */

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/** The longest prefix of s with at most maxBytes of UTF-8, never splitting a character. */
export function utf8Prefix(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let lo = 0;
  let hi = Math.min(s.length, maxBytes);
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (Buffer.byteLength(s.slice(0, mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return s.slice(0, isHighSurrogate(s.charCodeAt(lo - 1)) ? lo - 1 : lo);
}

/** The first `units` UTF-16 code units of s, one fewer when the last would be half a surrogate pair. */
export function codePointPrefix(s: string, units: number): string {
  if (s.length <= units) return s;
  return s.slice(0, units > 0 && isHighSurrogate(s.charCodeAt(units - 1)) ? units - 1 : units);
}

/**
 * s's UTF-8 bytes in consecutive parts of at most maxBytes (≥ 4) each, every cut between whole
 * characters (never before a continuation byte), so each part decodes on its own and the parts'
 * concatenation is s's bytes exactly. The empty string is one empty part.
 */
export function utf8Parts(s: string, maxBytes: number): Buffer[] {
  if (maxBytes < 4)
    throw new RangeError(`utf8Parts: a part must hold any character (4 bytes), not ${maxBytes}`);
  const bytes = Buffer.from(s, "utf8");
  if (bytes.length <= maxBytes) return [bytes];
  const parts: Buffer[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + maxBytes, bytes.length);
    // 10xxxxxx is a continuation byte: the cut moves back to the start of its character.
    while (end < bytes.length && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    parts.push(bytes.subarray(start, end));
    start = end;
  }
  return parts;
}

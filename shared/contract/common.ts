import { z } from "zod";

/** A non-negative decimal string; unit prices have up to 6 decimals (rating-rules G4). */
export const unitPriceString = z
  .string()
  .regex(/^\d+(\.\d{1,6})?$/, 'decimal string with at most 6 decimals, e.g. "0.012"');
export const moneyString = z.string().regex(/^\d+(\.\d+)?$/, 'non-negative decimal string, e.g. "100.00"');
/** ISO 4217 codes as ICU knows them (the same data gives each currency's minor unit, money.ts). */
const iso4217 = new Set(Intl.supportedValuesOf("currency"));
export const isCurrencyCode = (s: string): boolean => iso4217.has(s);
export const currencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, "ISO 4217 currency code")
  .refine(isCurrencyCode, "not an ISO 4217 currency code");

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/i;

/**
 * True for a calendar-valid RFC 3339 date-time (Date.parse alone accepts 2025-02-30 and rolls over).
 * A leap second (`23:59:60Z`, RFC 3339 §5.6; any hh:59:60 with an offset) is valid: `instantOf`
 * reads it as the next second (docs/decisions.md).
 */
export function isRealDateTime(s: string): boolean {
  const m = RFC3339.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const offsetOk = m[9] === undefined || (Number(m[9]) < 24 && Number(m[10]) < 60);
  const secondOk = se < 60 || (se === 60 && mi === 59);
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth && h < 24 && mi < 60 && secondOk && offsetOk;
}

/** True for a real `YYYY-MM-DD` calendar day (`2025-02-30` is not one). */
export const isRealDay = (s: string): boolean =>
  /^\d{4}-\d{2}-\d{2}$/.test(s) && isRealDateTime(`${s}T00:00:00Z`);

/**
 * Epoch milliseconds of an RFC 3339 date-time; a leap second (…:59:60) is the next second, as POSIX
 * time counts it (policy, docs/decisions.md). NaN when not a date-time.
 */
export function instantOf(s: string): number {
  const m = RFC3339.exec(s);
  if (m?.[6] !== "60") return Date.parse(s);
  return Date.parse(`${s.slice(0, 17)}59${s.slice(19)}`) + 1000;
}

/**
 * An id of the configuration (account, tariff): at most 1,024 bytes of UTF-8 (a policy), since it
 * is a sort key of the stored configuration (DynamoDB's bound) and part of the account's keys.
 */
export const ID_MAX_BYTES = 1024;
export const configId = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s) <= ID_MAX_BYTES, `at most ${ID_MAX_BYTES} bytes (UTF-8)`);

/** RFC 3339 with an explicit offset (Z or ±hh:mm), calendar-valid. */
export const isoInstant = z
  .string()
  .regex(RFC3339, "RFC 3339 timestamp with offset")
  .refine(isRealDateTime, "not a real date-time");

/** An IANA time zone name that ICU knows (`Europe/Istanbul`, `UTC`); offsets such as `+03:00` are not zones. */
export const ianaTimeZone = z.string().refine((tz) => {
  if (!/^[A-Za-z]/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, "unknown IANA time zone");

/** Longest pricing-dimension value, in characters (Unicode code points), contract §1. */
export const DIMENSION_VALUE_MAX = 128;
/** Control characters (C0, DEL, C1). */
const CONTROL = /\p{Cc}/u;
/**
 * Not printable (policy): format characters (zero-width, bidi controls), line and paragraph
 * separators, private-use code points and lone surrogates. Unassigned code points are not refused:
 * that set changes with the Unicode version of the runtime (Node 20 and Lambda nodejs22.x differ).
 */
const NOT_PRINTABLE = /[\p{Cf}\p{Zl}\p{Zp}\p{Co}]|\p{Cs}/u;
/**
 * A string that becomes a pricing dimension (contract §1, rating-rules §1.1): 1–128 characters of
 * printable Unicode without `;`, `=` or control characters, which the invoice line's
 * `key=value;key=value` form could not carry. Every other character (`|`, `,`, quotes, spaces,
 * non-ASCII) is kept unchanged.
 */
export const dimensionValue = z
  .string()
  .superRefine((s, ctx) => {
    const refuse = (message: string) => ctx.addIssue({ code: "custom", message });
    const length = [...s].length;
    if (length < 1 || length > DIMENSION_VALUE_MAX)
      refuse(`a pricing dimension is 1–${DIMENSION_VALUE_MAX} characters (got ${length})`);
    if (s.includes(";")) refuse('a pricing dimension may not contain ";"');
    if (s.includes("=")) refuse('a pricing dimension may not contain "="');
    if (CONTROL.test(s)) refuse("a pricing dimension may not contain control characters");
    else if (NOT_PRINTABLE.test(s)) refuse("a pricing dimension is printable Unicode only");
  })
  .meta({
    // The same rule for the published JSON Schema (a refinement has no JSON Schema form of its own);
    // JSON Schema counts lengths in code points, as the refinement does.
    description:
      "Pricing dimension value (contract §1): printable Unicode without ';', '=' or control characters",
    minLength: 1,
    maxLength: DIMENSION_VALUE_MAX,
    pattern: "^[^;=\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Co}\\p{Cs}]*$",
  });

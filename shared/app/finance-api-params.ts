/**
 * What the finance API reads of a request (finance-api.ts): the account id, period, limit and
 * cursor parameters, each refused with a 400 problem naming it, and the problems' class.
 */
import { BillingError } from "../core/errors.js";
import { isPeriodId } from "../core/time.js";

/** Any non-empty account id without control characters, at most 1,024 characters (the accounts file: 1,024 bytes). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const ACCOUNT_ID = /^[^\u0000-\u001f\u007f]{1,1024}$/;
/** Lines per JSON page; close reports per page (a report is up to a few KB: 500 stay far under 6 MB). */
export const LINES = { default: 1000, max: 10_000 };
export const REPORTS = { default: 100, max: 500 };

export class Problem extends BillingError {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export const badRequest = (detail: string) => new Problem(400, "Bad Request", detail);
export const notFound = (detail: string) => new Problem(404, "Not Found", detail);

/**
 * Where a page starts: the line `offset` (0-based) of the account whose period index key is
 * `account` (its id, or the id's hash past 1,000 bytes), in that account's sorted lines. The walk
 * resumes each index shard at that key: the cursor is all the next page needs.
 */
export interface Cursor {
  readonly account: string;
  readonly offset: number;
}
export const encodeCursor = (c: Cursor) =>
  Buffer.from(JSON.stringify({ a: c.account, o: c.offset })).toString("base64url");
export function decodeCursor(raw: string): Cursor {
  try {
    const v = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as { a?: unknown; o?: unknown };
    if (typeof v.a === "string" && ACCOUNT_ID.test(v.a) && Number.isSafeInteger(v.o) && (v.o as number) >= 0)
      return { account: v.a, offset: v.o as number };
  } catch {
    // not base64url JSON
  }
  throw badRequest("malformed cursor");
}

/** A path segment decoded; 400 when its percent-encoding is broken. */
export function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`malformed path segment "${raw.slice(0, 200)}"`);
  }
}

export function period(raw: string | undefined): string {
  if (!raw || !isPeriodId(raw))
    throw badRequest(`the period must be YYYY-MM with a month from 01 to 12, not "${raw ?? ""}"`);
  return raw;
}

export function accountIdOf(raw: string): string {
  if (!ACCOUNT_ID.test(raw)) throw badRequest(`malformed account id "${raw.slice(0, 200)}"`);
  return raw;
}

export function limitOf(raw: string | undefined, bounds = LINES): number {
  const limit = raw === undefined ? bounds.default : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > bounds.max)
    throw badRequest(`limit must be an integer from 1 to ${bounds.max}, not "${raw}"`);
  return limit;
}

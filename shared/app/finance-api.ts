/**
 * The finance HTTP API (issue 10 item 2): one handler for API Gateway HTTP API
 * payload 2.0 events, run by Lambda behind the HTTP API (IAM auth) and, locally, by
 * local/finance-api-server.ts.
 *
 *   GET /periods/{period}/invoice-lines?format=csv|json[&accountId=…][&limit=N][&cursor=…]
 *   GET /periods/{period}/close-report[?accountId=…][&limit=N][&cursor=…]
 *   GET /periods/{period}/report.html
 *   GET /accounts/{accountId}/usage?period=YYYY-MM        (the month-to-date preview, writes nothing)
 *
 * Errors are `application/problem+json` (RFC 9457): 400 for a malformed period, account id, format,
 * limit or cursor; 404 for an unknown account, a period no account was closed for, or an unknown
 * route; 405 for a method other than GET.
 *
 *   GET /invoice-lines/{lineId}/explanation   (the line's explanation written at close)
 *
 * A period's lines are walked account by account in account-id order (the order of
 * `sortInvoiceLines`), a window of accounts read at a time, never the whole period in memory. JSON
 * comes in pages of `limit` lines with a `nextCursor`; CSV is streamed row by row when the server can
 * stream (the local server), and cut into pages of at most `maxBodyBytes` with a `Link: rel="next"`
 * header when it cannot (Lambda behind the HTTP API answers with one body of at most 6 MB). A cursor
 * names the account and the line within it where the next page starts: stable, because a closed
 * period's lines never change (G7: later corrections are lines of later periods).
 */
import type { InvoiceLine } from "../contract/invoice-line.js";
import type { BillingConfig } from "../core/config.js";
import { renderPeriodReport } from "../core/finance-report.js";
import { invoiceLineCsvRow, invoiceLinesCsvHeader, sortInvoiceLines } from "../core/rating/invoice.js";
import type { ExplanationStore } from "../ports/explanations.js";
import type { PeriodIndex, PeriodIndexEntry } from "../ports/period-index.js";
import type { UsageStore } from "../ports/usage-store.js";
import { LINE_ID } from "./explain-lines.js";
import {
  accountIdOf,
  badRequest,
  type Cursor,
  decodeCursor,
  encodeCursor,
  LINES,
  limitOf,
  notFound,
  Problem,
  period,
  REPORTS,
  segment,
} from "./finance-api-params.js";
import { readClosedAccount, referencedLines } from "./period-exports.js";
import {
  closeReportPage,
  type PeriodReportDeps,
  periodReportInput,
  readPeriodBilling,
} from "./period-report.js";
import { previewPeriod, UnknownAccountError } from "./preview-period.js";

/** Accounts of a period walk read at once (close record and lines each). */
const READ_AHEAD = 8;
/**
 * Accounts a page walks at most: accounts without lines cost an index entry each, so a page ends
 * after this many even when short of lines (its cursor goes on from there).
 */
const PAGE_ACCOUNTS = 1000;
/**
 * CSV bytes per response when the body cannot be streamed: Lambda's synchronous response is at most
 * 6 MB including its JSON envelope, in which a CSV's quotes and line ends are escaped.
 */
export const LAMBDA_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface FinanceApiDeps extends PeriodReportDeps {
  /** The closed state and the period index, walked page by page for a period's lines. */
  readonly periods: PeriodReportDeps["periods"] & Pick<PeriodIndex, "closedAccountsFrom">;
  /** The usage store the month-to-date preview reads (the same state as the close). */
  readonly usage: UsageStore;
  /** Explanations written at close (explain-lines.ts); without it every line id is unknown (404). */
  readonly explanations?: Pick<ExplanationStore, "explanation">;
}

/**
 * What the finance API reads of a request: the fields it uses of an HTTP API request in API
 * Gateway's payload format 2.0, which the local server builds too. Named here so that the use case
 * needs no Lambda types; an `APIGatewayProxyEventV2` is one.
 */
export interface FinanceApiRequest {
  readonly rawPath: string;
  readonly rawQueryString?: string | undefined;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | undefined;
  readonly requestContext?: { readonly http?: { readonly method?: string } };
}

/** A whole response (what API Gateway's structured result holds): status, headers and body. */
export interface FinanceApiResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export type FinanceApiHandler = (event: FinanceApiRequest) => Promise<FinanceApiResponse>;

/** A response whose body is sent chunk by chunk as it is produced (a server that can stream). */
export interface StreamedResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly chunks: AsyncIterable<string>;
}
export type FinanceApiStreamingHandler = (
  event: FinanceApiRequest,
) => Promise<FinanceApiResponse | StreamedResult>;

export const isStreamed = (r: FinanceApiResponse | StreamedResult): r is StreamedResult => "chunks" in r;

const problem = (e: Problem, instance: string): FinanceApiResponse => ({
  statusCode: e.status,
  headers: { "content-type": "application/problem+json" },
  body: JSON.stringify({
    type: "about:blank",
    title: e.title,
    status: e.status,
    detail: e.detail,
    instance,
  }),
});

const json = (statusCode: number, body: unknown): FinanceApiResponse => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

const CSV_HEADERS = { "content-type": "text/csv; charset=utf-8" };

/** One account's part of a period walk: its lines from the cursor on (sorted), and whether it was closed. */
interface AccountPart {
  readonly accountId: string;
  /** Its key in the period index (the id, or its hash past 1,000 bytes): a cursor names it. */
  readonly key: string;
  readonly closed: boolean;
  /** Index in the account's sorted lines of `lines[0]`. */
  readonly first: number;
  readonly lines: readonly InvoiceLine[];
}

/** `rawPath?query` with `cursor` set: the next page's address, relative to the API's root. */
function nextPageUrl(event: FinanceApiRequest, cursor: Cursor): string {
  const q = new URLSearchParams(event.rawQueryString ?? "");
  q.set("cursor", encodeCursor(cursor));
  return `${event.rawPath}?${q.toString()}`;
}

export interface FinanceApiOptions {
  /**
   * CSV bytes per response; longer periods come in pages (`Link: <…>; rel="next"`). Undefined: the
   * CSV is streamed whole (only a server that can stream, see createStreamingFinanceApi).
   * @default LAMBDA_MAX_BODY_BYTES
   */
  readonly maxBodyBytes?: number;
}

/** The API as Lambda serves it: every body a string, CSV in pages of at most `maxBodyBytes`. */
export function createFinanceApi(deps: FinanceApiDeps, opts: FinanceApiOptions = {}): FinanceApiHandler {
  const api = financeApi(deps, opts.maxBodyBytes ?? LAMBDA_MAX_BODY_BYTES);
  return api as FinanceApiHandler; // with a byte budget no result is streamed
}

/** The API as a server that can stream serves it: CSV sent row by row as accounts are read. */
export function createStreamingFinanceApi(deps: FinanceApiDeps): FinanceApiStreamingHandler {
  return financeApi(deps, undefined);
}

function financeApi(deps: FinanceApiDeps, maxBodyBytes: number | undefined): FinanceApiStreamingHandler {
  /** The configuration read once per request (a period walk reads it for every window). */
  const configOnce = () => {
    let config: Promise<BillingConfig> | undefined;
    return () => {
      config ??= deps.config();
      return config;
    };
  };

  /**
   * The account named by ?accountId=, known when configured or closed for the period (an account
   * since removed keeps its closed periods, contract §2); undefined when not given.
   */
  const account = async (
    raw: string | undefined,
    config: () => Promise<BillingConfig>,
    p: string,
  ): Promise<string | undefined> => {
    if (raw === undefined) return undefined;
    const id = accountIdOf(raw);
    if (
      !(await config()).accounts.some((a) => a.accountId === id) &&
      !(await deps.periods.closedAccount?.(id, p))
    )
      throw notFound(`unknown account "${id}"`);
    return id;
  };

  /**
   * The period's lines account by account, in the period index's key order (account-id order), from
   * the cursor's account on: the index is read as the walk goes (period-index.ts), each account's
   * close record and lines by key, READ_AHEAD accounts in flight. A page therefore reads its own
   * accounts plus a constant, never the period; memory holds the accounts in flight and the page.
   * An account whose index entry records no lines (its exports' count) is passed without a read.
   */
  async function* walk(
    p: string,
    only: string | undefined,
    from: Cursor | undefined,
  ): AsyncGenerator<AccountPart> {
    const partOf = async (accountId: string, key: string, entry?: PeriodIndexEntry): Promise<AccountPart> => {
      const first = from?.account === key ? from.offset : 0;
      if (entry?.exports?.lines === 0) return { accountId, key, closed: true, first, lines: [] };
      // The entry names the reference periods billed: the lines are read without the close record.
      if (entry?.references) {
        const lines = await referencedLines(deps.periods, accountId, p, entry.references);
        return { accountId, key, closed: true, first, lines: sortInvoiceLines(lines).slice(first) };
      }
      const c = await readClosedAccount(deps.periods, accountId, p);
      return {
        accountId,
        key,
        closed: c !== undefined,
        first,
        lines: c ? sortInvoiceLines([...c.lines]).slice(first) : [],
      };
    };
    if (only !== undefined) {
      yield await partOf(only, only);
      return;
    }
    const entries = deps.periods.closedAccountsFrom(p, from?.account)[Symbol.asyncIterator]();
    const inFlight: Promise<AccountPart>[] = [];
    let more = true;
    try {
      for (;;) {
        while (more && inFlight.length < READ_AHEAD) {
          const r = await entries.next();
          if (r.done) more = false;
          else {
            const part = partOf(r.value.accountId, r.value.key, r.value);
            // Awaited in turn below; a page that stops early leaves it unread, never unhandled.
            part.catch(() => undefined);
            inFlight.push(part);
          }
        }
        const next = inFlight.shift();
        if (!next) return;
        yield await next;
      }
    } finally {
      await entries.return?.(undefined);
    }
  }

  const notClosed = (p: string, accountId: string | undefined) =>
    notFound(
      accountId
        ? `period ${p} is not closed for account "${accountId}"`
        : `no account was closed for period ${p}`,
    );

  /**
   * Walks the accounts' lines into a page, at most PAGE_ACCOUNTS accounts: `take` keeps a line, or
   * says the page is full. Whether an account walked was closed, and the cursor of the rest, if any.
   */
  async function fillPage(parts: AsyncIterable<AccountPart>, take: (line: InvoiceLine) => boolean) {
    let closed = false;
    let walked = 0;
    for await (const part of parts) {
      if (walked++ === PAGE_ACCOUNTS) return { closed, next: { account: part.key, offset: part.first } };
      closed ||= part.closed;
      for (const [i, line] of part.lines.entries())
        if (!take(line)) return { closed, next: { account: part.key, offset: part.first + i } };
    }
    return { closed, next: undefined };
  }

  /** A JSON page of `limit` lines and the cursor of the next one, if any line is left. */
  async function linesPage(parts: AsyncIterable<AccountPart>, limit: number) {
    const lines: InvoiceLine[] = [];
    const page = await fillPage(parts, (line) => {
      if (lines.length === limit) return false;
      lines.push(line);
      return true;
    });
    return { lines, ...page };
  }

  /** CSV rows (header first) up to `budget` bytes (at least one line), and the cursor of the rest. */
  async function csvPage(parts: AsyncIterable<AccountPart>, budget: number) {
    let body = `${invoiceLinesCsvHeader}\n`;
    let bytes = Buffer.byteLength(body);
    let rows = 0;
    const page = await fillPage(parts, (line) => {
      const row = `${invoiceLineCsvRow(line)}\n`;
      const size = Buffer.byteLength(row);
      if (rows > 0 && bytes + size > budget) return false;
      body += row;
      bytes += size;
      rows += 1;
      return true;
    });
    return { body, ...page };
  }

  /**
   * CSV streamed: the accounts are read until one is closed (else 404, decided before the status is
   * sent), then the header and every row follow as their accounts are read.
   */
  async function csvStream(
    parts: AsyncGenerator<AccountPart>,
    firstPage: boolean,
    notFoundError: Problem,
  ): Promise<StreamedResult> {
    const read: AccountPart[] = [];
    for (let r = await parts.next(); ; r = await parts.next()) {
      if (r.done) break;
      read.push(r.value);
      if (r.value.closed) break;
    }
    if (firstPage && !read.some((a) => a.closed)) {
      await parts.return(undefined);
      throw notFoundError;
    }
    const rowsOf = (a: AccountPart) => a.lines.map((l) => `${invoiceLineCsvRow(l)}\n`).join("");
    return {
      statusCode: 200,
      headers: CSV_HEADERS,
      chunks: (async function* () {
        yield `${invoiceLinesCsvHeader}\n`;
        for (const a of read) if (a.lines.length > 0) yield rowsOf(a);
        for await (const a of parts) if (a.lines.length > 0) yield rowsOf(a);
      })(),
    };
  }

  const invoiceLines = async (
    event: FinanceApiRequest,
    p: string,
  ): Promise<FinanceApiResponse | StreamedResult> => {
    const q = event.queryStringParameters ?? {};
    const format = q.format ?? "json";
    if (format !== "json" && format !== "csv")
      throw badRequest(`format must be csv or json, not "${format}"`);
    const limit = format === "json" ? limitOf(q.limit) : undefined;
    const from = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const config = configOnce();
    const accountId = await account(q.accountId, config, p);
    const parts = walk(p, accountId, from);
    if (format === "csv") {
      if (maxBodyBytes === undefined) return csvStream(parts, from === undefined, notClosed(p, accountId));
      const page = await csvPage(parts, maxBodyBytes);
      if (from === undefined && !page.closed) throw notClosed(p, accountId);
      return {
        statusCode: 200,
        headers: {
          ...CSV_HEADERS,
          ...(page.next ? { link: `<${nextPageUrl(event, page.next)}>; rel="next"` } : {}),
        },
        body: page.body,
      };
    }
    const page = await linesPage(parts, limit ?? LINES.default);
    if (from === undefined && !page.closed) throw notClosed(p, accountId);
    return json(200, {
      period: p,
      lines: page.lines,
      ...(page.next ? { nextCursor: encodeCursor(page.next) } : {}),
    });
  };

  /** One account's report, or the period's a page of `limit` accounts at a time (cursor: where the next starts). */
  const closeReport = async (event: FinanceApiRequest, p: string) => {
    const q = event.queryStringParameters ?? {};
    const config = configOnce();
    const accountId = await account(q.accountId, config, p);
    if (accountId) {
      const b = await readPeriodBilling({ ...deps, config }, p, [accountId]);
      if (b.reports.length === 0) throw notClosed(p, accountId);
      return json(200, { period: p, reports: b.reports });
    }
    const from = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const page = await closeReportPage(deps.periods, p, limitOf(q.limit, REPORTS), from?.account);
    if (page.reports.length === 0 && from === undefined) throw notClosed(p, undefined);
    return json(200, {
      period: p,
      reports: page.reports,
      ...(page.next !== undefined ? { nextCursor: encodeCursor({ account: page.next, offset: 0 }) } : {}),
    });
  };

  const reportPage = async (p: string): Promise<FinanceApiResponse> => {
    const { input, current } = await periodReportInput(deps, p, {
      csv: `invoice-lines?format=csv`,
      json: `invoice-lines?format=json`,
      closeReport: `close-report`,
    });
    if (current.reports.length === 0) throw notClosed(p, undefined);
    return {
      statusCode: 200,
      headers: { "content-type": "text/html; charset=utf-8" },
      body: renderPeriodReport(input),
    };
  };

  /** The month-to-date preview of one account (`billing preview`): the lines its period would close with now. */
  const usage = async (event: FinanceApiRequest, rawAccount: string) => {
    const accountId = accountIdOf(segment(rawAccount));
    const p = period(event.queryStringParameters?.period);
    try {
      return json(200, await previewPeriod(accountId, p, deps));
    } catch (e) {
      if (e instanceof UnknownAccountError) throw notFound(e.message);
      throw e;
    }
  };

  return async (event) => {
    const path = event.rawPath;
    try {
      const periodRoute = /^\/periods\/([^/]*)\/(invoice-lines|close-report|report\.html)$/.exec(path);
      const usageRoute = /^\/accounts\/([^/]*)\/usage$/.exec(path);
      const explained = EXPLANATION_PATH.exec(path);
      if (!periodRoute && !usageRoute && !explained) throw notFound(`no resource at ${path}`);
      const method = event.requestContext?.http?.method ?? "GET";
      if (method !== "GET") {
        const e = new Problem(405, "Method Not Allowed", `${method} is not allowed; use GET`);
        const r = problem(e, path);
        return { ...r, headers: { ...r.headers, allow: "GET" } };
      }
      if (usageRoute) return await usage(event, usageRoute[1] as string);
      if (explained) return await explanationOf(deps, explained[1] as string);
      const p = period(segment((periodRoute as RegExpExecArray)[1] as string));
      switch ((periodRoute as RegExpExecArray)[2]) {
        case "invoice-lines":
          return await invoiceLines(event, p);
        case "close-report":
          return await closeReport(event, p);
        default:
          return await reportPage(p);
      }
    } catch (e) {
      if (e instanceof Problem) return problem(e, path);
      throw e;
    }
  };
}

// ---- GET /invoice-lines/{lineId}/explanation (issue 10 item 3) ----

const EXPLANATION_PATH = /^\/invoice-lines\/([^/]*)\/explanation$/;

/** One key read by line id: 400 for a malformed id, 404 for one no close wrote. */
async function explanationOf(deps: FinanceApiDeps, rawId: string): Promise<FinanceApiResponse> {
  const lineId = segment(rawId);
  if (!LINE_ID.test(lineId))
    throw badRequest(`a line id is "L-" and 20 hex digits, not "${lineId.slice(0, 100)}"`);
  const x = await deps.explanations?.explanation(lineId);
  if (!x) throw notFound(`no invoice line ${lineId}`);
  return json(200, x);
}

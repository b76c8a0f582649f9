/**
 * The finance HTTP API (issue 10 item 2), first cut: one handler for API Gateway HTTP API payload
 * 2.0 events, served by Lambda behind the HTTP API and, locally, by local/finance-api-server.ts.
 *
 *   GET /periods/{period}/invoice-lines?format=csv|json[&accountId=…][&limit=N&cursor=…]
 *   GET /periods/{period}/close-report[?accountId=…]
 *   GET /periods/{period}/report.html
 *
 * Errors are `application/problem+json` (RFC 9457): 400 for a malformed period, account id, format,
 * limit or cursor; 404 for an unknown account, a period no account was closed for, or an unknown
 * route; 405 for a method other than GET. JSON lines come in pages (`limit`, default 1,000, and the
 * `nextCursor` to pass as `cursor`); CSV is the whole period at once.
 *
 * Not yet: `/accounts/{id}/usage` (the month-to-date preview) and `/invoice-lines/{lineId}/explanation`
 * (explanations written at close), and reading item 1's per-period exports instead of the table.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { BillingError } from "../core/errors.js";
import { renderPeriodReport } from "../core/finance-report.js";
import { invoiceLinesToCsv, sortInvoiceLines } from "../core/rating/invoice.js";
import { isPeriodId } from "../core/time.js";
import { type PeriodReportDeps, periodReportInput, readPeriodBilling } from "./period-report.js";

/** Any non-empty account id the accounts file allows, without control characters, at most 1,024 long. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const ACCOUNT_ID = /^[^\u0000-\u001f\u007f]{1,1024}$/;
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10_000;

export type FinanceApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

class Problem extends BillingError {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const problem = (e: Problem, instance: string): APIGatewayProxyStructuredResultV2 => ({
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

const badRequest = (detail: string) => new Problem(400, "Bad Request", detail);
const notFound = (detail: string) => new Problem(404, "Not Found", detail);

/**
 * A page's cursor: the offset of its first line in the period's sorted lines, opaque to clients. Stable:
 * a closed period's lines never change (G7: later corrections are lines of later periods).
 */
const cursorOf = (offset: number) => Buffer.from(`lines:${offset}`).toString("base64url");
const offsetOf = (cursor: string): number | undefined => {
  const m = /^lines:(\d{1,9})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  return m ? Number(m[1]) : undefined;
};

export function createFinanceApi(deps: PeriodReportDeps): FinanceApiHandler {
  const period = (raw: string | undefined): string => {
    if (!raw || !isPeriodId(raw))
      throw badRequest(`the period must be YYYY-MM with a month from 01 to 12, not "${raw ?? ""}"`);
    return raw;
  };
  /** The account named by ?accountId=, checked against the configuration; undefined when not given. */
  const account = async (raw: string | undefined): Promise<string | undefined> => {
    if (raw === undefined) return undefined;
    if (!ACCOUNT_ID.test(raw)) throw badRequest(`malformed accountId "${raw.slice(0, 200)}"`);
    const { accounts } = await deps.config();
    if (!accounts.some((a) => a.accountId === raw)) throw notFound(`unknown account "${raw}"`);
    return raw;
  };
  /** The period's billing, for one account or all; 404 when no account was closed for it. */
  const billing = async (p: string, accountId: string | undefined) => {
    const b = await readPeriodBilling(
      accountId
        ? {
            ...deps,
            config: async () => {
              const c = await deps.config();
              return { ...c, accounts: c.accounts.filter((a) => a.accountId === accountId) };
            },
          }
        : deps,
      p,
    );
    if (b.reports.length === 0)
      throw notFound(
        accountId
          ? `period ${p} is not closed for account "${accountId}"`
          : `no account was closed for period ${p}`,
      );
    return b;
  };

  return async (event) => {
    const path = event.rawPath;
    try {
      const method = event.requestContext?.http?.method ?? "GET";
      const q = event.queryStringParameters ?? {};
      const m = /^\/periods\/([^/]*)\/(invoice-lines|close-report|report\.html)$/.exec(path);
      if (!m) throw notFound(`no resource at ${path}`);
      if (method !== "GET") {
        const e = new Problem(405, "Method Not Allowed", `${method} is not allowed; use GET`);
        const r = problem(e, path);
        return { ...r, headers: { ...r.headers, allow: "GET" } };
      }
      const p = period(decodeURIComponent(m[1] as string));
      switch (m[2]) {
        case "invoice-lines": {
          const format = q.format ?? "json";
          if (format !== "json" && format !== "csv")
            throw badRequest(`format must be csv or json, not "${format}"`);
          const accountId = await account(q.accountId);
          const lines = sortInvoiceLines((await billing(p, accountId)).lines);
          if (format === "csv")
            return {
              statusCode: 200,
              headers: { "content-type": "text/csv; charset=utf-8" },
              body: invoiceLinesToCsv(lines),
            };
          const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit);
          if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
            throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}, not "${q.limit}"`);
          const from = q.cursor === undefined ? 0 : offsetOf(q.cursor);
          if (from === undefined) throw badRequest("malformed cursor");
          const next = from + limit;
          return json(200, {
            period: p,
            lines: lines.slice(from, next),
            ...(next < lines.length ? { nextCursor: cursorOf(next) } : {}),
          });
        }
        case "close-report": {
          const accountId = await account(q.accountId);
          return json(200, { period: p, reports: (await billing(p, accountId)).reports });
        }
        default: {
          const { input, current } = await periodReportInput(deps, p, {
            csv: `invoice-lines?format=csv`,
            json: `invoice-lines?format=json`,
            closeReport: `close-report`,
          });
          if (current.reports.length === 0) throw notFound(`no account was closed for period ${p}`);
          return {
            statusCode: 200,
            headers: { "content-type": "text/html; charset=utf-8" },
            body: renderPeriodReport(input),
          };
        }
      }
    } catch (e) {
      if (e instanceof Problem) return problem(e, path);
      throw e;
    }
  };
}

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

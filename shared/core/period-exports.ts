/**
 * The exports bucket by period (issue 10 item 1), pure: the object keys, the
 * text of each object as a stream of chunks (so no object is built whole in memory), and the period
 * manifest. Same closed state in, same bytes out: a re-run, a repair or `billing export --period`
 * writes identical objects.
 *
 *   invoice-lines/period=YYYY-MM/account=<id>/lines.csv     contract §4 CSV (header, sorted)
 *   invoice-lines/period=YYYY-MM/account=<id>/lines.json    contract §4 JSON (an array)
 *   invoice-lines/jsonl/period=YYYY-MM/account=<id>/lines.jsonl   Athena's copy: one line object per line
 *   close-reports/period=YYYY-MM/account=<id>/report.json   the stored close report, one JSON line
 *   invoice-lines/period=YYYY-MM/_manifest.json (+ _manifest-NNNNN.json parts past 10,000 accounts)
 */
import { createHash } from "node:crypto";
import { type InvoiceLine, invoiceLineColumns } from "../contract/invoice-line.js";
import { INVOICE_LINES_CSV_HEADER, invoiceLineCsvRow, sortInvoiceLines } from "./rating/invoice.js";
import type { PeriodId } from "./time.js";

/** Accounts listed in one manifest object; more are split into parts (each ≈ 3 MB at most). */
export const MANIFEST_PART_ACCOUNTS = 10_000;

/**
 * The `account=` path segment: the id URL-encoded (Hive unescapes `%XX`), or `sha256-<hex>` of the id
 * when the encoded form passes 512 bytes (an S3 key is at most 1,024); every row names its account anyway.
 */
export function accountSegment(accountId: string): string {
  const encoded = encodeURIComponent(accountId);
  return encoded.length <= 512 ? encoded : `sha256-${createHash("sha256").update(accountId).digest("hex")}`;
}

export interface AccountExportKeys {
  readonly csv: string;
  readonly json: string;
  readonly jsonl: string;
  readonly report: string;
}

export function accountExportKeys(period: PeriodId, accountId: string): AccountExportKeys {
  const part = `period=${period}/account=${accountSegment(accountId)}`;
  return {
    csv: `invoice-lines/${part}/lines.csv`,
    json: `invoice-lines/${part}/lines.json`,
    jsonl: `invoice-lines/jsonl/${part}/lines.jsonl`,
    report: `close-reports/${part}/report.json`,
  };
}

export const manifestKey = (period: PeriodId, part?: number): string =>
  `invoice-lines/period=${period}/${part === undefined ? "_manifest.json" : `_manifest-${String(part).padStart(5, "0")}.json`}`;

/** A line with its keys in contract order (a line read back from storage may have them in any order). */
const inContractOrder = (l: InvoiceLine) => Object.fromEntries(invoiceLineColumns.map((c) => [c, l[c]]));

/** Rows are emitted in chunks of this many lines. */
const CHUNK_LINES = 500;

function* chunked<T>(items: readonly T[], render: (t: T) => string): Generator<string> {
  for (let i = 0; i < items.length; i += CHUNK_LINES)
    yield items
      .slice(i, i + CHUNK_LINES)
      .map(render)
      .join("");
}

/** lines.csv: the contract §4 CSV of these lines (sorted as §4 says), byte for byte `invoiceLinesToCsv`. */
export function* invoiceLinesCsvChunks(lines: readonly InvoiceLine[]): Generator<string> {
  yield `${INVOICE_LINES_CSV_HEADER}\n`;
  yield* chunked(sortInvoiceLines([...lines]), (l) => `${invoiceLineCsvRow(l)}\n`);
}

/** lines.json: the contract §4 JSON array, as `JSON.stringify(lines, null, 2)` plus a newline. */
export function* invoiceLinesJsonChunks(lines: readonly InvoiceLine[]): Generator<string> {
  const sorted = sortInvoiceLines([...lines]);
  if (sorted.length === 0) {
    yield "[]\n";
    return;
  }
  yield "[\n";
  // JSON strings never hold a raw newline, so re-indenting by line is exact.
  yield* chunked(
    sorted.map((l, i) => ({ l, last: i === sorted.length - 1 })),
    ({ l, last }) =>
      `  ${JSON.stringify(inContractOrder(l), null, 2).replaceAll("\n", "\n  ")}${last ? "" : ","}\n`,
  );
  yield "]\n";
}

/** lines.jsonl (Athena): one compact JSON object per line, contract §4 keys and values. */
export function* invoiceLinesJsonlChunks(lines: readonly InvoiceLine[]): Generator<string> {
  yield* chunked(sortInvoiceLines([...lines]), (l) => `${JSON.stringify(inContractOrder(l))}\n`);
}

/** report.json: the close report as stored, on one line (JSON Lines with one record: Athena reads it). */
export const closeReportObject = (report: unknown): string => `${JSON.stringify(report)}\n`;

/** One written object: where, how many bytes, its SHA-256 (hex). */
export interface ExportedObject {
  readonly key: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** What one account's close put in the bucket (kept in the period index entry, then in the manifest). */
export interface AccountExports {
  readonly lines: number;
  readonly csv: ExportedObject;
  readonly json: ExportedObject;
  readonly jsonl: ExportedObject;
  readonly report: ExportedObject;
}

export interface ManifestEntry extends AccountExports {
  readonly accountId: string;
}

/**
 * The period's manifest objects: `_manifest.json` lists the accounts itself up to `partAccounts`
 * (10,000); past that it names its parts, each listing `partAccounts` accounts. Entries in account id
 * order; no clock in it, so the same index gives the same bytes.
 */
export function periodManifest(
  period: PeriodId,
  entries: readonly ManifestEntry[],
  partAccounts = MANIFEST_PART_ACCOUNTS,
): { key: string; body: string }[] {
  const sorted = [...entries].sort((a, b) =>
    a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0,
  );
  const head = {
    period,
    accounts: sorted.length,
    lines: sorted.reduce((s, e) => s + e.lines, 0),
  };
  const body = (o: unknown) => `${JSON.stringify(o, null, 2)}\n`;
  if (sorted.length <= partAccounts)
    return [{ key: manifestKey(period), body: body({ ...head, objects: sorted }) }];
  const parts: { key: string; body: string }[] = [];
  for (let i = 0; i < sorted.length; i += partAccounts) {
    const n = parts.length + 1;
    parts.push({
      key: manifestKey(period, n),
      body: body({ period, part: n, objects: sorted.slice(i, i + partAccounts) }),
    });
  }
  return [...parts, { key: manifestKey(period), body: body({ ...head, parts: parts.map((p) => p.key) }) }];
}

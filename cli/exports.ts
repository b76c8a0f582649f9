/**
 * The finance exports (contract §4, §5): invoice lines as CSV and JSON, the close report (counts and
 * the first samples of each list), the close report's full lists (close-report-lists.jsonl),
 * marketplace usage.
 */
import { mkdir, open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  acceptedUsageOf,
  type DynamoMarketplaceStore,
} from "../shared/adapters/dynamodb/marketplace-store.js";
import { readReportList, reportListsOf } from "../shared/app/close-report.js";
import { isRefusedLine } from "../shared/app/dead-letters.js";
import type { InvoiceLine } from "../shared/contract/invoice-line.js";
import type { AccountCloseReport, ReportList } from "../shared/core/close-report.js";
import { compareStrings } from "../shared/core/compare.js";
import type { BillingConfig } from "../shared/core/config.js";
import { mapLimit } from "../shared/core/map-limit.js";
import { invoiceLinesJsonChunks } from "../shared/core/period-exports.js";
import { invoiceLinesToCsv, sortInvoiceLines } from "../shared/core/rating/invoice.js";
import { periodWindow } from "../shared/core/time.js";
import type { AcceptedMarketplaceUsage } from "../shared/ports/marketplace.js";
import type { DeadLetter, PeriodStore } from "../shared/ports/storage.js";
import { refusedLineOrigin } from "./ingest-file.js";

/**
 * What the Metering API accepted for the closed periods exported (`billing export`, with or without
 * `--period`): the records of each period's azure-marketplace accounts (their close reports) whose
 * hour lies in that period in the account's time zone, read with one Query per account (never a
 * scan, whatever else the table holds). An account no longer configured is taken as UTC.
 */
export async function closedPeriodsMarketplaceUsage(
  marketplace: Pick<DynamoMarketplaceStore, "usageRecords">,
  reports: readonly AccountCloseReport[],
  config: () => Promise<BillingConfig>,
): Promise<AcceptedMarketplaceUsage[]> {
  const azure = reports.filter((r) => r.billingChannel === "azure-marketplace");
  if (azure.length === 0) return [];
  const zones = new Map((await config()).accounts.map((a) => [a.accountId, a.timezone]));
  const windows = new Map<string, { start: number; end: number }[]>();
  for (const r of azure)
    windows.set(r.accountId, [
      ...(windows.get(r.accountId) ?? []),
      periodWindow(r.period, zones.get(r.accountId) ?? "UTC"),
    ]);
  const records = await mapLimit([...windows], CONCURRENCY, async ([accountId, ws]) =>
    (await marketplace.usageRecords(accountId)).filter((u) =>
      ws.some((w) => u.hour >= w.start && u.hour < w.end),
    ),
  );
  return acceptedUsageOf(records.flat());
}

/** Accounts read at once. */
const CONCURRENCY = 8;

export interface ExportBundle {
  readonly lines: readonly InvoiceLine[];
  readonly reports: readonly AccountCloseReport[];
  readonly deadLetters: readonly DeadLetter[];
  readonly marketplaceUsage: readonly unknown[];
  /** marketplace-reconciliation.csv and marketplace-usage-events.csv (azure-marketplace accounts only). */
  readonly marketplaceReconciliation?: string;
  readonly marketplaceUsageEvents?: string;
  /** Where the reports' stored lists are read from (needed when a list is longer than its samples). */
  readonly reportLists?: Pick<PeriodStore, "readReportChunk">;
}

/** close-report-lists.jsonl: one line per entry of every list of every report. */
export const REPORT_LISTS_FILE = "close-report-lists.jsonl";

export async function writeExports(dir: string, bundle: ExportBundle): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const lines = sortInvoiceLines([...bundle.lines]);
  const files = {
    "invoice-lines.csv": invoiceLinesToCsv(lines),
    // Contract §4's array, keys in column order whatever order storage returned them in.
    "invoice-lines.json": [...invoiceLinesJsonChunks(lines)].join(""),
    "close-report.json": `${JSON.stringify(
      {
        reports: bundle.reports,
        // Messages that could not be attributed to any account are still reported (nothing lost).
        deadLetters: bundle.deadLetters.map((d) => ({
          deadLetterId: d.deadLetterId,
          subject: d.subject ?? null,
          reason: d.reason,
          receivedAt: new Date(d.receivedAt).toISOString(),
        })),
        // Lines of ingest files the usage queue refused (never sent): where they are, and why.
        refusedLines: bundle.deadLetters
          .filter(isRefusedLine)
          .map((d) => ({
            deadLetterId: d.deadLetterId,
            ...(refusedLineOrigin(d.messageId) ?? { file: "", line: 0 }),
            reason: d.reason,
          }))
          .sort((a, b) => compareStrings(a.file, b.file) || a.line - b.line),
      },
      null,
      2,
    )}\n`,
    "marketplace-usage.json": `${JSON.stringify(bundle.marketplaceUsage, null, 2)}\n`,
    ...(bundle.marketplaceReconciliation !== undefined
      ? { "marketplace-reconciliation.csv": bundle.marketplaceReconciliation }
      : {}),
    ...(bundle.marketplaceUsageEvents !== undefined
      ? { "marketplace-usage-events.csv": bundle.marketplaceUsageEvents }
      : {}),
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  await writeReportLists(join(dir, REPORT_LISTS_FILE), bundle);
  return [...Object.keys(files), REPORT_LISTS_FILE].map((f) => join(dir, f));
}

/**
 * Every entry of every list of the reports, one JSON line each — `{accountId, period, list, entry}`
 * — streamed chunk by chunk from the store, so the file may be as long as the lists.
 */
async function writeReportLists(path: string, bundle: ExportBundle): Promise<void> {
  const file = await open(path, "w");
  try {
    for (const r of bundle.reports)
      for (const [list, summary] of reportListsOf(r)) {
        if (summary.chunks > 0 && !bundle.reportLists)
          throw new Error(`${r.accountId} ${r.period} ${list}: the full list needs the store`);
        const store = bundle.reportLists ?? { readReportChunk: async () => undefined };
        let buf = "";
        for await (const entry of readReportList(
          store,
          r.accountId,
          r.period,
          summary as ReportList<unknown>,
        )) {
          buf += `${JSON.stringify({ accountId: r.accountId, period: r.period, list, entry })}\n`;
          if (buf.length > 1_000_000) {
            await file.write(buf);
            buf = "";
          }
        }
        if (buf) await file.write(buf);
      }
  } finally {
    await file.close();
  }
}

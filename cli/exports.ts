/** The finance exports (contract §4, §5): invoice lines as CSV and JSON, the close report, marketplace usage. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AccountCloseReport } from "../shared/app/close-period.js";
import { isRefusedLine } from "../shared/app/dead-letters.js";
import type { InvoiceLine } from "../shared/contract/invoice-line.js";
import { invoiceLinesToCsv, sortInvoiceLines } from "../shared/core/rating/invoice.js";
import type { DeadLetter } from "../shared/ports/storage.js";
import { refusedLineOrigin } from "./ingest-file.js";

export interface ExportBundle {
  readonly lines: readonly InvoiceLine[];
  readonly reports: readonly AccountCloseReport[];
  readonly deadLetters: readonly DeadLetter[];
  readonly marketplaceUsage: readonly unknown[];
  /** marketplace-reconciliation.csv and marketplace-usage-events.csv (azure-marketplace accounts only). */
  readonly marketplaceReconciliation?: string;
  readonly marketplaceUsageEvents?: string;
}

export async function writeExports(dir: string, bundle: ExportBundle): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const lines = sortInvoiceLines([...bundle.lines]);
  const files = {
    "invoice-lines.csv": invoiceLinesToCsv(lines),
    "invoice-lines.json": `${JSON.stringify(lines, null, 2)}\n`,
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
          .sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1)),
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
  return Object.keys(files).map((f) => join(dir, f));
}

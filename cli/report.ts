/**
 * `billing report --period YYYY-MM --out DIR`: the page finance opens for a period
 * (shared/core/finance-report.ts), with the period's exports it links to, against a configured stack:
 *   DIR/report-YYYY-MM.html, DIR/invoice-lines-YYYY-MM.csv, DIR/invoice-lines-YYYY-MM.json,
 *   DIR/close-report-YYYY-MM.json
 * Read account by account with key queries (shared/app/period-report.ts), never a table scan.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DynamoBillingStore } from "../shared/adapters/dynamodb/billing-table.js";
import { periodReportInput } from "../shared/app/period-report.js";
import type { InvoiceLine } from "../shared/contract/invoice-line.js";
import type { AccountCloseReport } from "../shared/core/close-report.js";
import { renderPeriodReport } from "../shared/core/finance-report.js";
import { invoiceLinesToCsv, sortInvoiceLines } from "../shared/core/rating/invoice.js";
import { shiftPeriod } from "../shared/core/time.js";
import { systemClock } from "../shared/ports/clock.js";
import { readEnvironment } from "../shared/runtime/environment.js";
import { cachedConfig, dynamoClient, endpointsOf } from "../shared/runtime/wiring.js";
import { checkedPeriod, EXIT, NothingToExportError, parse, UsageError } from "./usage.js";

export interface ReportCommand {
  readonly period: string;
  readonly out: string;
}

export function parseReportCommand(args: string[]): ReportCommand {
  const { values, positionals } = parse({
    args,
    allowPositionals: true,
    options: { period: { type: "string" }, out: { type: "string" } },
  });
  if (positionals.length) throw new UsageError(`report takes no argument "${positionals[0]}"`);
  if (!values.period || !values.out) throw new UsageError("report needs --period YYYY-MM and --out DIR");
  return { period: checkedPeriod(values.period), out: values.out };
}

/** The file names of a period's page and of the exports it links to. */
export const reportFiles = (period: string) => ({
  html: `report-${period}.html`,
  csv: `invoice-lines-${period}.csv`,
  json: `invoice-lines-${period}.json`,
  closeReport: `close-report-${period}.json`,
});

export async function runReportCommand(cmd: ReportCommand): Promise<number> {
  const env = readEnvironment();
  const ddb = dynamoClient(endpointsOf(env));
  try {
    const store = new DynamoBillingStore(ddb, env.BILLING_TABLE);
    const names = reportFiles(cmd.period);
    const { input, current } = await periodReportInput(
      { periods: store, config: cachedConfig(store, systemClock, 0), usage: store.usage },
      cmd.period,
      { csv: names.csv, json: names.json, closeReport: names.closeReport },
    );
    // As `billing export` and the finance API: a period nobody closed has no page to give finance.
    if (current.reports.length === 0)
      throw new NothingToExportError(
        `period ${cmd.period} has no closed account: no report written (close it first: \`billing close --period ${cmd.period}\`)`,
      );
    const lines = sortInvoiceLines([...current.lines]);
    await mkdir(cmd.out, { recursive: true });
    const files: [string, string][] = [
      [names.html, renderPeriodReport(input)],
      [names.csv, invoiceLinesToCsv(lines)],
      [names.json, `${JSON.stringify(lines, null, 2)}\n`],
      [names.closeReport, `${JSON.stringify({ reports: current.reports }, null, 2)}\n`],
    ];
    for (const [name, text] of files) await writeFile(join(cmd.out, name), text);
    console.log(
      `report ${cmd.period}: ${current.reports.length} ${current.reports.length === 1 ? "account" : "accounts"} closed, ${lines.length} lines; ${files
        .map(([n]) => join(cmd.out, n))
        .join(", ")}`,
    );
    return EXIT.ok;
  } finally {
    ddb.destroy();
  }
}

/**
 * `billing simulate`: one page per period it closed, beside its exports (which hold every period:
 * the page's links go to them), from the lines and reports it already has in hand.
 */
export async function writeSimulationReports(
  dir: string,
  lines: readonly InvoiceLine[],
  reports: readonly AccountCloseReport[],
): Promise<string[]> {
  const periods = [...new Set(reports.map((r) => r.period))].sort();
  const written: string[] = [];
  for (const period of periods) {
    const previousPeriod = shiftPeriod(period, -1);
    const file = join(dir, reportFiles(period).html);
    await writeFile(
      file,
      renderPeriodReport({
        period,
        previousPeriod,
        lines: lines.filter((l) => l.period === period),
        previousLines: lines.filter((l) => l.period === previousPeriod),
        // Only a period this run closed has a "previous" figure; simulate closes every account.
        previousClosed: reports.filter((r) => r.period === previousPeriod).map((r) => r.accountId),
        // A period closed twice reports "already-closed" the second time: one report per account.
        reports: [
          ...new Map(reports.filter((r) => r.period === period).map((r) => [r.accountId, r])).values(),
        ],
        links: { csv: "invoice-lines.csv", json: "invoice-lines.json", closeReport: "close-report.json" },
      }),
    );
    written.push(file);
  }
  return written;
}

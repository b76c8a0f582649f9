/**
 * Exports by period (issue 10 item 1): after an account's close is committed,
 * its invoice lines and report go to the exports bucket under `period=YYYY-MM/account=<id>/`, and the
 * period index entry records the objects written. The objects are a pure function of the closed state
 * (immutable, G7), read back from the table: every writer — the close, a re-run of it, `billing export
 * --period` — writes the same bytes, so a crash between the close and its exports is repaired by the
 * next run (the close queue re-delivers the request: `already-closed`, entry without exports) or by
 * the manifest's writer. Reading a period goes through the period index, never a table scan.
 */
import type { InvoiceLine } from "../contract/invoice-line.js";
import type { AccountCloseOutcome, AccountCloseReport, ClosedAccount } from "../core/close-report.js";
import { mapLimit } from "../core/map-limit.js";
import {
  type AccountExports,
  accountExportKeys,
  closeReportObject,
  invoiceLinesCsvChunks,
  invoiceLinesJsonChunks,
  invoiceLinesJsonlChunks,
  type ManifestEntry,
  periodManifest,
} from "../core/period-exports.js";
import type { PeriodId } from "../core/time.js";
import type { ExportObjects } from "../ports/export-objects.js";
import type { PeriodIndex } from "../ports/period-index.js";
import type { PeriodStore } from "../ports/storage.js";

export type ClosedStateReader = Pick<PeriodStore, "getClose" | "linesForReference">;

export interface PeriodExportDeps {
  readonly periods: ClosedStateReader;
  readonly index: PeriodIndex;
  readonly objects: ExportObjects;
}

/** Account reads in flight at once. */
const CONCURRENCY = 8;

/**
 * The lines an account's close of `period` emitted: those of reference period P with period P, and
 * the adjustments of the earlier reference periods its report lists (each read under LINE#R#).
 */
export async function closedAccountLines(
  periods: Pick<PeriodStore, "linesForReference">,
  accountId: string,
  period: PeriodId,
  report: Pick<AccountCloseReport, "adjustments">,
): Promise<InvoiceLine[]> {
  return referencedLines(
    periods,
    accountId,
    period,
    report.adjustments.map((x) => x.referencePeriod),
  );
}

/** The lines of `period` under reference period `period` and each of `references` (one Query each). */
export async function referencedLines(
  periods: Pick<PeriodStore, "linesForReference">,
  accountId: string,
  period: PeriodId,
  references: readonly PeriodId[],
): Promise<InvoiceLine[]> {
  const all = [period, ...new Set(references.filter((r) => r !== period))];
  return (await Promise.all(all.map((r) => periods.linesForReference(accountId, r)))).flatMap((ls) =>
    ls.filter((l) => l.period === period),
  );
}

/** An account's closed period as stored (report and lines), or undefined when it is not closed. */
export async function readClosedAccount(
  periods: ClosedStateReader,
  accountId: string,
  period: PeriodId,
): Promise<ClosedAccount | undefined> {
  const close = await periods.getClose(accountId, period);
  if (close?.status !== "closed" || !close.report) return undefined;
  const report = close.report as AccountCloseReport;
  return {
    report,
    closedAt: close.closedAt ?? 0,
    lines: await closedAccountLines(periods, accountId, period, report),
  };
}

/** Writes one account's four objects for the period and records them on its index entry. */
async function writeAccountObjects(
  deps: PeriodExportDeps,
  accountId: string,
  period: PeriodId,
  closed: ClosedAccount,
): Promise<AccountExports> {
  const keys = accountExportKeys(period, accountId);
  const { objects } = deps;
  const [csv, json, jsonl, report] = await Promise.all([
    objects.write(keys.csv, invoiceLinesCsvChunks(closed.lines), "text/csv; charset=utf-8"),
    objects.write(keys.json, invoiceLinesJsonChunks(closed.lines), "application/json"),
    objects.write(keys.jsonl, invoiceLinesJsonlChunks(closed.lines), "application/x-ndjson"),
    objects.write(keys.report, [closeReportObject(closed.report)], "application/json"),
  ]);
  const exports: AccountExports = { lines: closed.lines.length, csv, json, jsonl, report };
  await deps.index.markExported({ accountId, period, closedAt: closed.closedAt, exports });
  return exports;
}

/**
 * Writes an account's objects unless its index entry already records them (`force`: always).
 * Undefined when the account is not closed for the period.
 */
export async function exportClosedAccount(
  deps: PeriodExportDeps,
  accountId: string,
  period: PeriodId,
  opts: { force?: boolean } = {},
): Promise<AccountExports | undefined> {
  if (!opts.force) {
    const entry = await deps.index.closedAccount(accountId, period);
    if (entry?.exports) return entry.exports;
  }
  const closed = await readClosedAccount(deps.periods, accountId, period);
  return closed && writeAccountObjects(deps, accountId, period, closed);
}

/**
 * After a close outcome: a new close exports at once, from what it committed (`closed`: the objects
 * are a pure function of it, byte for byte what a read back gives); an `already-closed` one (a
 * re-delivered close request, a re-run) exports only if its entry has no objects yet — the repair of
 * a crash between the close and its exports. A close held by another run exports nothing.
 */
export async function exportAfterClose(
  deps: PeriodExportDeps,
  outcome: AccountCloseOutcome,
  closed?: ClosedAccount,
): Promise<void> {
  if (outcome.status === "being-closed") return;
  if (outcome.status === "closed" && closed) {
    await writeAccountObjects(deps, outcome.accountId, outcome.period, closed);
    return;
  }
  const exported = await exportClosedAccount(deps, outcome.accountId, outcome.period, {
    force: outcome.status === "closed",
  });
  // A crash between the entry's objects and the period's change note: the request comes back.
  if (exported && outcome.status === "already-closed") await deps.index.notePeriodChanged(outcome.period);
}

/**
 * Writes the period's manifest (`invoice-lines/period=P/_manifest.json`, parts past 10,000 accounts)
 * from the period index, first exporting any closed account whose objects are missing.
 */
export async function writePeriodManifest(
  deps: PeriodExportDeps,
  period: PeriodId,
  opts: { partAccounts?: number } = {},
): Promise<{ accounts: number; lines: number; keys: string[] }> {
  const entries = await deps.index.closedAccounts(period);
  const listed = await mapLimit(entries, CONCURRENCY, async (e): Promise<ManifestEntry | undefined> => {
    const exports = e.exports ?? (await exportClosedAccount(deps, e.accountId, period, { force: true }));
    return exports && { accountId: e.accountId, ...exports };
  });
  const objects = listed.filter((e): e is ManifestEntry => e !== undefined);
  const manifest = periodManifest(period, objects, opts.partAccounts);
  for (const m of manifest) await deps.objects.write(m.key, [m.body], "application/json");
  return {
    accounts: objects.length,
    lines: objects.reduce((s, e) => s + e.lines, 0),
    keys: manifest.map((m) => m.key),
  };
}

/**
 * Rewrites the manifest of every period whose exports changed since it was written (the close
 * scheduler's hourly run): O(periods changed), each from its index. The count is read before
 * the index, so an export noted after the read leaves the period due for the next run; a crash
 * before `markManifested` leaves it due too (the rewrite gives the same bytes).
 */
export async function writeChangedManifests(
  deps: PeriodExportDeps,
): Promise<{ period: PeriodId; accounts: number }[]> {
  const written: { period: PeriodId; accounts: number }[] = [];
  for (const { period, changes } of await deps.index.periodsToManifest()) {
    const { accounts } = await writePeriodManifest(deps, period);
    await deps.index.markManifested(period, changes);
    written.push({ period, accounts });
  }
  return written;
}

/** One period's lines and close reports, from the period index (never a scan), in account id order. */
export async function readClosedPeriod(
  periods: ClosedStateReader & Pick<PeriodIndex, "closedAccounts">,
  period: PeriodId,
): Promise<{ lines: InvoiceLine[]; reports: AccountCloseReport[] }> {
  const entries = await periods.closedAccounts(period);
  const closed = await mapLimit(entries, CONCURRENCY, (e) => readClosedAccount(periods, e.accountId, period));
  return {
    lines: closed.flatMap((c) => c?.lines ?? []),
    reports: closed.flatMap((c) => (c ? [c.report] : [])),
  };
}

/**
 * `billing simulate` (contract §5): the real functions on the embedded local stack, steps in order,
 * on a virtual clock that starts at the earliest event time and only moves forward.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { REGION, startLocalBillingSystem } from "../local/billing-system.js";
import { LocalMeteringApi, meteringResourcesOf } from "../local/metering-api.js";
import { DynamoMarketplaceStore } from "../shared/adapters/dynamodb/marketplace-store.js";
import {
  entraTokenProvider,
  HttpMeteringClient,
} from "../shared/adapters/marketplace/http-metering-client.js";
import { readClosedPeriod } from "../shared/app/period-exports.js";
import { reconcileMarketplaceUsage, usageEventsCsv } from "../shared/app/reconcile-marketplace.js";
import { reportMarketplaceUsageUntil } from "../shared/app/report-marketplace-usage.js";
import { instantOf } from "../shared/contract/common.js";
import type { InvoiceLine } from "../shared/contract/invoice-line.js";
import type { AccountCloseReport } from "../shared/core/close-report.js";
import { type BillingConfig, parseAccounts, parseTariffs } from "../shared/core/config.js";
import { BillingError } from "../shared/core/errors.js";
import { type ReconciliationRow, reconciliationCsv } from "../shared/core/marketplace/reconciliation.js";
import { bodyElements } from "../shared/core/message-body.js";
import { isPeriodId, periodOf, periodWindow, shiftPeriod } from "../shared/core/time.js";
import { VirtualClock } from "../shared/ports/clock.js";
import { dynamoClient } from "../shared/runtime/wiring.js";
import { writeExports } from "./exports.js";
import {
  IngestFileError,
  type IngestLine,
  type RefusedLine,
  readIngestFile,
  sendIngestLines,
} from "./ingest-file.js";
import { writeSimulationReports } from "./report.js";
import { onInterrupt } from "./shutdown.js";

export class SimulationInputError extends BillingError {
  override readonly name = "SimulationInputError";
}

export interface SimulationOptions {
  readonly accountsFile: string;
  readonly tariffsFile: string;
  readonly steps: readonly string[];
  readonly outDir: string;
  readonly progress: (msg: string) => void;
  readonly print: (msg: string) => void;
  /**
   * A Metering API to report to instead of starting the local one (default: MARKETPLACE_API_URL from
   * the environment). Calls carry an Entra ID token when AZURE_TENANT_ID, AZURE_CLIENT_ID and
   * AZURE_CLIENT_SECRET are set (ENTRA_AUTHORITY overrides https://login.microsoftonline.com).
   */
  readonly marketplaceApiUrl?: string;
}

type Step =
  | { kind: "ingest"; file: string; lines: IngestLine[]; minTime?: number; maxTime?: number }
  | { kind: "close"; period: string };

async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new SimulationInputError(`${file}: cannot be read: ${(e as Error).message}`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SimulationInputError(`${file}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

export async function loadConfigFiles(accountsFile: string, tariffsFile: string): Promise<BillingConfig> {
  const tariffs = parseTariffs(await readJsonFile(tariffsFile), tariffsFile);
  const accounts = parseAccounts(await readJsonFile(accountsFile), tariffs, accountsFile);
  return { accounts, tariffs };
}

/**
 * The event times a message body carries: one CloudEvent, or a batch (a JSON array of them) as the
 * ingest handler reads it. A body that is not JSON, or an event without a readable time, adds none.
 */
export function eventTimesOf(body: string): number[] {
  const times: number[] = [];
  for (const event of bodyElements(body)) {
    const time = event !== null && typeof event === "object" ? (event as { time?: unknown }).time : undefined;
    const t = typeof time === "string" ? instantOf(time) : Number.NaN;
    if (!Number.isNaN(t)) times.push(t);
  }
  return times;
}

/** The earliest and latest event times of the lines that can be sent; undefined when none has one. */
function timeRange(lines: readonly IngestLine[]): { min: number; max: number } | undefined {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  // A loop, not Math.min(...): a file of a million events would overflow the call's arguments.
  for (const l of lines)
    if (l.invalid === undefined)
      for (const t of eventTimesOf(l.text)) {
        if (t < min) min = t;
        if (t > max) max = t;
      }
  return min <= max ? { min, max } : undefined;
}

async function parseSteps(steps: readonly string[]): Promise<Step[]> {
  const out: Step[] = [];
  for (const s of steps) {
    const [kind, arg] = [s.slice(0, s.indexOf(":")), s.slice(s.indexOf(":") + 1)];
    if (kind === "ingest" && arg) {
      let lines: IngestLine[];
      try {
        lines = await readIngestFile(arg);
      } catch (e) {
        if (e instanceof IngestFileError) throw new SimulationInputError(e.message, { cause: e });
        throw e;
      }
      const range = timeRange(lines);
      out.push({
        kind: "ingest",
        file: arg,
        lines,
        ...(range ? { minTime: range.min, maxTime: range.max } : {}),
      });
    } else if (kind === "close" && isPeriodId(arg)) {
      out.push({ kind: "close", period: arg });
    } else {
      throw new SimulationInputError(`bad --step "${s}": expected ingest:FILE.jsonl or close:YYYY-MM`);
    }
  }
  return out;
}

export async function runSimulation(
  opts: SimulationOptions,
): Promise<{ reports: AccountCloseReport[]; files: string[]; refusedLines: RefusedLine[] }> {
  const config = await loadConfigFiles(opts.accountsFile, opts.tariffsFile);
  const steps = await parseSteps(opts.steps);
  let earliest = Number.POSITIVE_INFINITY;
  for (const s of steps)
    if (s.kind === "ingest" && s.minTime !== undefined) earliest = Math.min(earliest, s.minTime);
  const clock = new VirtualClock(Number.isFinite(earliest) ? earliest : Date.now());
  opts.progress(
    `starting local stack (DynamoDB Local, SQS server); virtual clock at ${new Date(clock.now()).toISOString()}`,
  );
  // Receipt: an ingest step's messages are received once its usage has happened — at its
  // latest event time, or the clock if later — so no scenario event is "more than 24 hours ahead".
  let receivedFrom = Number.NEGATIVE_INFINITY;
  const receiptClock = { now: () => Math.max(clock.now(), receivedFrom) };
  const system = await startLocalBillingSystem({ clock, receiptClock });
  const stopSystemOnInterrupt = onInterrupt(() => system.stop());
  opts.progress(
    `local stack: DynamoDB Local pid ${system.dynamodbPid} at ${system.endpoints.dynamodb}, SQS at ${system.endpoints.sqs}`,
  );
  const reports: AccountCloseReport[] = [];
  // §6: the local Metering API judges "within 24 hours" against the virtual clock. With
  // MARKETPLACE_API_URL the reporter calls that API instead; the virtual clock still drives its runs.
  const start = clock.now();
  const externalUrl = opts.marketplaceApiUrl ?? (process.env.MARKETPLACE_API_URL || undefined);
  const meteringApi = externalUrl
    ? undefined
    : new LocalMeteringApi({ clock, resources: meteringResourcesOf(config.accounts) });
  const metering = meteringApi
    ? await meteringApi.start().catch(async (e: unknown) => {
        stopSystemOnInterrupt();
        await system.stop();
        throw e;
      })
    : { url: externalUrl as string, stop: async () => undefined };
  if (externalUrl) opts.progress(`marketplace: reporting to ${externalUrl} (MARKETPLACE_API_URL)`);
  const stopMeteringOnInterrupt = onInterrupt(() => metering.stop());
  const refusedLines: RefusedLine[] = [];
  const ddb = dynamoClient({ region: REGION, dynamodbEndpoint: system.endpoints.dynamodb });
  const env = process.env;
  const token =
    externalUrl && env.AZURE_TENANT_ID && env.AZURE_CLIENT_ID && env.AZURE_CLIENT_SECRET
      ? entraTokenProvider({
          credentials: async () => ({
            tenantId: env.AZURE_TENANT_ID as string,
            clientId: env.AZURE_CLIENT_ID as string,
            clientSecret: env.AZURE_CLIENT_SECRET as string,
          }),
          ...(env.ENTRA_AUTHORITY ? { authority: env.ENTRA_AUTHORITY } : {}),
        })
      : undefined;
  const marketplaceStore = new DynamoMarketplaceStore(ddb, system.tableName);
  const reporter = {
    ledger: system.store.usage,
    store: marketplaceStore,
    client: new HttpMeteringClient({
      baseUrl: metering.url,
      ...(token ? { token } : {}),
      // A local API answers at once: short backoffs keep a simulation quick.
      ...(meteringApi ? { retry: { baseDelayMs: 10, maxDelayMs: 200 } } : {}),
    }),
    clock,
    config: async () => config,
  };
  const hasAzure = config.accounts.some((a) => a.billingChannel === "azure-marketplace");
  let marketplaceRuns = 0;
  /**
   * Moves the clock to `to`, running the hourly marketplace reporter at the hour boundaries it passes
   * where a run can report something (hours without usage are skipped).
   */
  const advance = async (to: number) => {
    if (!hasAzure) return clock.advanceTo(to);
    const { visited } = await reportMarketplaceUsageUntil({ ...reporter, clock }, to, { fromHour: start });
    marketplaceRuns += visited.length;
  };
  try {
    await system.loadConfig(config);
    for (const step of steps) {
      if (step.kind === "ingest") {
        const name = resolve(step.file);
        receivedFrom = step.maxTime ?? Number.NEGATIVE_INFINITY;
        // A line that cannot be sent is dead-lettered with its file and line; the others go on.
        const { sent, refused } = await sendIngestLines(step.file, step.lines, {
          queue: system.usageQueue,
          deadLetters: system.store,
          clock,
        });
        refusedLines.push(...refused);
        opts.progress(
          `ingest ${name}: sent ${sent} messages${refused.length ? `, refused ${refused.length} lines (dead-lettered)` : ""}`,
        );
        for (const r of refused) opts.progress(`  refused ${r.file} line ${r.line}: ${r.reason}`);
        let last = 0;
        const tally = await system.drain((processed) => {
          if (processed - last >= 500) {
            last = processed;
            opts.progress(`  processed ${processed}/${sent}`);
          }
        });
        // Sent but with no outcome: failed maxReceiveCount times, now in the SQS dead-letter queue.
        const toDlq = Math.max(
          0,
          sent - tally.stored - tally.duplicate - tally.conflict - tally["dead-lettered"],
        );
        opts.progress(
          `  drained: stored ${tally.stored}, duplicates ${tally.duplicate}, conflicts ${tally.conflict}, dead-lettered ${tally["dead-lettered"]}, retried ${tally.failed}${
            toDlq > 0 ? `, moved to the SQS dead-letter queue ${toDlq}` : ""
          }`,
        );
        if (step.maxTime !== undefined) await advance(step.maxTime);
      } else {
        // The close runs once the period has ended for every account (G3: in its own time zone).
        const end = Math.max(...config.accounts.map((a) => periodWindow(step.period, a.timezone).end));
        await advance(end);
        const closed = await system.close(step.period);
        reports.push(...closed);
        opts.progress(
          `close ${step.period}: ${closed.length} ${closed.length === 1 ? "account" : "accounts"} closed at ${new Date(clock.now()).toISOString()}`,
        );
      }
    }
    const azureAccounts = config.accounts.filter((a) => a.billingChannel === "azure-marketplace" && a.azure);
    const records = (
      await Promise.all(azureAccounts.map((a) => marketplaceStore.usageRecords(a.accountId)))
    ).flat();
    // Every billing month the run's clock went through, per account (each in its own time zone).
    const rows: ReconciliationRow[] = [];
    const months = new Set<string>();
    for (const a of azureAccounts)
      for (
        let p = periodOf(start, a.timezone);
        p <= periodOf(clock.now() - 1, a.timezone);
        p = shiftPeriod(p, 1)
      )
        months.add(p);
    for (const period of [...months].sort())
      rows.push(...(await reconcileMarketplaceUsage(reporter, period)));
    // Every line of every period the run closed, through the period index, not a table scan.
    const lines: InvoiceLine[] = [];
    for (const period of [...new Set(reports.map((r) => r.period))].sort())
      lines.push(...(await readClosedPeriod(system.store, period)).lines);
    const files = await writeExports(opts.outDir, {
      lines,
      reports,
      deadLetters: await system.store.list(),
      // What the Metering API accepted: the local one's list, or (another API) our accepted records.
      marketplaceUsage:
        meteringApi?.accepted() ??
        records
          .filter((r) => r.status === "accepted")
          .map((r) => ({
            resourceId: r.resourceId,
            planId: r.planId,
            dimension: r.dimension,
            quantity: Number(r.acceptedQuantity ?? r.quantity),
            effectiveStartTime: r.effectiveStartTime,
          })),
      ...(hasAzure
        ? {
            marketplaceReconciliation: reconciliationCsv(rows),
            marketplaceUsageEvents: usageEventsCsv(records),
          }
        : {}),
      reportLists: system.store,
    });
    files.push(...(await writeSimulationReports(opts.outDir, lines, reports)));
    if (hasAzure) {
      const count = (s: string) => records.filter((r) => r.status === s).length;
      opts.progress(
        `marketplace: ${marketplaceRuns} hourly runs; usage events accepted ${count("accepted")}, expired ${count("expired")}, rejected ${count("rejected")}, pending ${count("pending")}; reconciliation: ${rows.filter((r) => r.status !== "reconciled").length} of ${rows.length} rows not reconciled`,
      );
    }
    printSummary(reports, opts.print);
    if (refusedLines.length) {
      opts.print(`refused lines (not sent, in the dead-letter store): ${refusedLines.length}`);
      for (const r of refusedLines) opts.print(`  ${r.file} line ${r.line}: ${r.reason}`);
    }
    opts.print(`exports: ${files.join(", ")}`);
    return { reports, files, refusedLines };
  } finally {
    stopMeteringOnInterrupt();
    stopSystemOnInterrupt();
    ddb.destroy();
    await metering.stop().catch(() => undefined);
    await system.stop();
  }
}

function printSummary(reports: readonly AccountCloseReport[], print: (m: string) => void) {
  const rows = reports.map((r) => [
    r.accountId,
    r.period,
    r.billingChannel,
    String(r.lines),
    `${r.totals.amount} ${r.currency}`,
    String(r.suspense.events),
    String(r.conflicts.count),
    String(r.rejectedMessages.count),
  ]);
  const header = ["account", "period", "channel", "lines", "total", "suspense", "conflicts", "rejected"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  print(fmt(header));
  for (const r of rows) print(fmt(r));
}

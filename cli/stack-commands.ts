/**
 * `billing config|ingest|close|export|dead-letters|marketplace` against a configured stack (local or deployed).
 * parseStackCommand checks the arguments (UsageError) before anything reads the environment or
 * touches storage; runStackCommand then runs it.
 */
import { createIngestHandler, wrapIngestHandler } from "../functions/ingest-usage/handler.js";
import { SqsEventSourcePoller } from "../local/event-source-poller.js";
import { DynamoBillingStore } from "../shared/adapters/dynamodb/billing-table.js";
import { DynamoMarketplaceStore } from "../shared/adapters/dynamodb/marketplace-store.js";
import { SqsCloseQueue } from "../shared/adapters/sqs/close-queue.js";
import { SqsFailedMessageQueue } from "../shared/adapters/sqs/failed-message-queue.js";
import { SqsUsageQueue } from "../shared/adapters/sqs/usage-queue.js";
import { closePeriod } from "../shared/app/close-period.js";
import {
  type EventReference,
  eventOfLetter,
  eventReferencesOf,
  isRefusedLine,
  listDeadLetters,
  redriveDeadLetters,
} from "../shared/app/dead-letters.js";
import { readClosedPeriod, writePeriodManifest } from "../shared/app/period-exports.js";
import { previewPeriod } from "../shared/app/preview-period.js";
import { reconcileMarketplaceUsage } from "../shared/app/reconcile-marketplace.js";
import type { InvoiceLine } from "../shared/contract/invoice-line.js";
import { type AccountCloseReport, isCloseReport } from "../shared/core/close-report.js";
import { BillingError } from "../shared/core/errors.js";
import { reconciliationCsv } from "../shared/core/marketplace/reconciliation.js";
import { isPeriodId, periodWindow } from "../shared/core/time.js";
import { systemClock } from "../shared/ports/clock.js";
import { ConfigurationError, readEnvironment } from "../shared/runtime/environment.js";
import {
  blobStore,
  cachedConfig,
  dynamoClient,
  endpointsOf,
  exportObjects,
  sqsClient,
  storeDeps,
} from "../shared/runtime/wiring.js";
import { awaitQueueTaken } from "./await-ingested.js";
import { parseExplain, runExplain } from "./explain.js";
import { closedPeriodsMarketplaceUsage, writeExports } from "./exports.js";
import { readIngestFile, sendIngestLines } from "./ingest-file.js";
import { loadConfigFiles } from "./simulate.js";
import { EXIT, NothingToExportError, oneArgument, parse, periodOption, UsageError } from "./usage.js";

export type StackCommand =
  | { kind: "config-load"; accounts: string; tariffs: string }
  | { kind: "ingest"; file: string; drain: boolean }
  | { kind: "close"; period: string; accounts?: string[]; force: boolean }
  | { kind: "preview"; period: string; account: string; json: boolean }
  | { kind: "export"; out: string; period?: string }
  | { kind: "dead-letters-list"; source?: string }
  | { kind: "dead-letters-redrive"; ids?: string[] }
  | { kind: "marketplace-reconcile"; period: string; accounts?: string[] }
  | { kind: "explain"; lineId: string; json: boolean };

/** Checks a stack command's arguments; nothing is read or written. */
export function parseStackCommand(command: string, args: string[]): StackCommand {
  switch (command) {
    case "config": {
      const { values, positionals } = parse({
        args,
        allowPositionals: true,
        options: { accounts: { type: "string" }, tariffs: { type: "string" } },
      });
      if (positionals[0] !== "load" || positionals.length !== 1)
        throw new UsageError("config takes one subcommand: config load --accounts FILE --tariffs FILE");
      if (!values.accounts || !values.tariffs)
        throw new UsageError("config load needs --accounts and --tariffs");
      return { kind: "config-load", accounts: values.accounts, tariffs: values.tariffs };
    }
    case "ingest": {
      const { argument, flagged } = oneArgument(args, "drain", "ingest takes one file: ingest FILE.jsonl");
      return { kind: "ingest", file: argument, drain: flagged };
    }
    case "close": {
      const { values } = parse({
        args,
        options: {
          period: { type: "string" },
          account: { type: "string", multiple: true },
          force: { type: "boolean" },
        },
      });
      return {
        kind: "close",
        period: periodOption(values.period, "close"),
        ...(values.account ? { accounts: values.account } : {}),
        force: values.force === true,
      };
    }
    case "preview": {
      const { values } = parse({
        args,
        options: { period: { type: "string" }, account: { type: "string" }, json: { type: "boolean" } },
      });
      if (!values.account) throw new UsageError("preview needs --account ID");
      const period = periodOption(values.period, "preview");
      return { kind: "preview", period, account: values.account, json: values.json === true };
    }
    case "export": {
      const { values } = parse({ args, options: { out: { type: "string" }, period: { type: "string" } } });
      if (!values.out) throw new UsageError("export needs --out DIR");
      if (values.period !== undefined && !isPeriodId(values.period))
        throw new UsageError(`--period must be YYYY-MM with a month from 01 to 12, not "${values.period}"`);
      return { kind: "export", out: values.out, ...(values.period ? { period: values.period } : {}) };
    }
    case "dead-letters": {
      const { values, positionals } = parse({
        args,
        allowPositionals: true,
        options: { id: { type: "string", multiple: true }, source: { type: "string" } },
      });
      if (positionals.length !== 1 || (positionals[0] !== "list" && positionals[0] !== "redrive"))
        throw new UsageError("dead-letters takes list or redrive");
      if (positionals[0] === "list") {
        if (values.id) throw new UsageError("dead-letters list takes no --id");
        return {
          kind: "dead-letters-list",
          ...(values.source !== undefined ? { source: values.source } : {}),
        };
      }
      if (values.source !== undefined) throw new UsageError("dead-letters redrive takes no --source");
      return { kind: "dead-letters-redrive", ...(values.id ? { ids: values.id } : {}) };
    }
    case "marketplace": {
      const { values, positionals } = parse({
        args,
        allowPositionals: true,
        options: { period: { type: "string" }, account: { type: "string", multiple: true } },
      });
      if (positionals[0] !== "reconcile" || positionals.length !== 1)
        throw new UsageError("marketplace takes one subcommand: marketplace reconcile --period YYYY-MM");
      return {
        kind: "marketplace-reconcile",
        period: periodOption(values.period, "marketplace reconcile"),
        ...(values.account ? { accounts: values.account } : {}),
      };
    }
    case "explain":
      return parseExplain(args);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/**
 * The source, id, type and subject columns of a listing ("-" where unknown); a batch message's
 * values are its events' distinct values, comma-separated, the first ten.
 */
function eventColumns(events: readonly EventReference[]): string[] {
  return (["source", "id", "type", "subject"] as const).map((f) => {
    const values = [...new Set(events.flatMap((e) => (e[f] !== undefined ? [e[f]] : [])))];
    if (!values.length) return "-";
    return `${values.slice(0, 10).join(",")}${values.length > 10 ? `,… (${values.length} in all)` : ""}`;
  });
}

/** `billing marketplace reconcile` before any reporter run: exit 1, the reason said. */
export class MarketplaceNotReportedError extends BillingError {
  override readonly name = "MarketplaceNotReportedError";
}

export async function runStackCommand(cmd: StackCommand): Promise<number> {
  const env = readEnvironment();
  const need = (v: string | undefined, name: string) => {
    if (!v) throw new ConfigurationError(`${name} must be set for this command`);
    return v;
  };
  // Every variable the command needs is checked before the first call to storage.
  const queueUrl =
    cmd.kind === "ingest" || cmd.kind === "dead-letters-redrive"
      ? need(env.USAGE_QUEUE_URL, "USAGE_QUEUE_URL")
      : env.USAGE_QUEUE_URL;
  const endpoints = endpointsOf(env);
  const ddb = dynamoClient(endpoints);
  const sqs = sqsClient(endpoints);
  const store = new DynamoBillingStore(ddb, env.BILLING_TABLE);
  const config = cachedConfig(store, systemClock, 0);
  // The exports bucket keeps dead letters' large bodies (EXPORTS_BUCKET; locally S3_ENDPOINT too).
  const blobs = blobStore(endpoints, env.EXPORTS_BUCKET);
  // The exports bucket also takes each close's objects by period.
  const objects = exportObjects(endpoints, env.EXPORTS_BUCKET);
  const deps = storeDeps(store, systemClock, config, { blobs, exports: objects });
  const dlq =
    env.USAGE_DLQ_URL && queueUrl ? new SqsFailedMessageQueue(sqs, env.USAGE_DLQ_URL, queueUrl) : undefined;
  try {
    switch (cmd.kind) {
      case "config-load": {
        const c = await loadConfigFiles(cmd.accounts, cmd.tariffs);
        await store.saveConfig(c);
        console.log(`loaded ${c.accounts.length} accounts and ${c.tariffs.length} tariffs`);
        return EXIT.ok;
      }
      case "ingest": {
        const url = queueUrl as string;
        const lines = await readIngestFile(cmd.file);
        // A line the queue refuses is dead-lettered with the file and line number; the rest are sent.
        const { sent, refused } = await sendIngestLines(cmd.file, lines, {
          queue: new SqsUsageQueue(sqs, url),
          deadLetters: store,
          clock: systemClock,
        });
        console.error(`sent ${sent} messages to ${url}`);
        if (refused.length) {
          console.error(`refused ${refused.length} lines (not sent, in the dead-letter store):`);
          for (const r of refused) console.error(`  ${r.file} line ${r.line}: ${r.reason}`);
        }
        // Refused lines are the sender's to fix: the exit code tells a script the file was not all sent.
        const result = refused.length ? EXIT.failure : EXIT.ok;
        if (cmd.drain) {
          // Local stacks have no Lambda: run the same handler through the event-source poller.
          const poller = new SqsEventSourcePoller({
            sqs,
            queueUrl: url,
            handler: wrapIngestHandler(createIngestHandler(deps)),
            region: env.AWS_REGION,
          });
          let last = 0;
          const r = await poller.drain({
            onProgress: (p) => {
              if (p.processed - last >= 500) {
                last = p.processed;
                console.error(`processed ${p.processed}`);
              }
            },
          });
          console.error(`drained: ${r.processed} processed, ${r.failed} failed attempts`);
        } else if (process.env.BILLING_STACK_DIR) {
          // The local stack's poller runs the ingest handler: return once it has taken everything.
          await awaitQueueTaken(sqs, url);
          console.error("the local stack's ingest poller has taken every message");
        }
        if (refused.length)
          console.error(
            `billing: ${refused.length} of ${lines.length} lines refused (fix them and ingest those lines again; \`billing dead-letters list\` shows them)`,
          );
        return result;
      }
      case "close": {
        const c = await config();
        const known = new Set(c.accounts.map((a) => a.accountId));
        const unknown = (cmd.accounts ?? []).filter((id) => !known.has(id));
        if (unknown.length)
          throw new UsageError(`unknown account ${unknown.map((id) => `"${id}"`).join(", ")}`);
        const chosen = c.accounts.filter((a) => !cmd.accounts || cmd.accounts.includes(a.accountId));
        const now = systemClock.now();
        const open = chosen
          .map((a) => ({ a, end: periodWindow(cmd.period, a.timezone).end }))
          .filter(({ end }) => end > now);
        if (open.length && !cmd.force)
          throw new UsageError(
            `period ${cmd.period} is not over yet for ${open
              .map(({ a, end }) => `${a.accountId} (${a.timezone}: ends ${new Date(end).toISOString()})`)
              .join(", ")}; closing it now would bill part of a month (--force closes it anyway)`,
          );
        if (env.CLOSE_QUEUE_URL) {
          // A stack with a close queue: the same fan-out as the scheduler's; the close
          // worker closes each account, and `billing export` shows the results once it is done.
          await new SqsCloseQueue(sqs, env.CLOSE_QUEUE_URL).enqueue(
            chosen.map((a) => ({ accountId: a.accountId, period: cmd.period })),
          );
          console.log(
            `enqueued ${chosen.length} close requests for ${cmd.period} to ${env.CLOSE_QUEUE_URL}; the close worker closes each account`,
          );
          return EXIT.ok;
        }
        // No close queue configured (a bare table, e.g. a local one): close here, account by account.
        const outcomes = await closePeriod(
          cmd.period,
          deps,
          cmd.accounts ? { accountIds: cmd.accounts } : {},
        );
        for (const r of outcomes)
          console.log(
            isCloseReport(r)
              ? `${r.accountId} ${r.period} ${r.status}: ${r.lines} lines, ${r.totals.amount} ${r.currency}`
              : `${r.accountId} ${r.period} ${r.status} by another run (${r.claimedBy}, started ${r.startedAt}): nothing written`,
          );
        return EXIT.ok;
      }
      case "marketplace-reconcile": {
        const marketplace = new DynamoMarketplaceStore(ddb, env.BILLING_TABLE);
        // Without a reporter run nothing was ever sent: every dimension would read "short", which
        // says nothing about the Marketplace. Say that instead, and fail.
        const azure = (await config()).accounts.filter(
          (a) =>
            a.billingChannel === "azure-marketplace" &&
            a.azure &&
            (!cmd.accounts || cmd.accounts.includes(a.accountId)),
        );
        const unreported = [];
        for (const a of azure)
          if (!(await marketplace.getWatermark(a.accountId))) unreported.push(a.accountId);
        if (unreported.length)
          throw new MarketplaceNotReportedError(
            `no Marketplace reporter has run yet for ${unreported.join(", ")}: nothing was sent to the Metering API, so there is nothing to reconcile (the hourly reporter runs in AWS and in \`billing stack\`; a new account is reported from its first run on)`,
          );
        const rows = await reconcileMarketplaceUsage(
          {
            ledger: store.usage,
            store: marketplace,
            clock: systemClock,
            config,
          },
          cmd.period,
          cmd.accounts ? { accountIds: cmd.accounts } : {},
        );
        process.stdout.write(reconciliationCsv(rows));
        const off = rows.filter((r) => r.status !== "reconciled");
        console.error(
          `${rows.length} rows, ${off.length} not reconciled${off.length ? ` (${off.map((r) => `${r.accountId}/${r.dimension} ${r.status}`).join(", ")})` : ""}`,
        );
        return EXIT.ok;
      }
      case "preview": {
        const c = await config();
        if (!c.accounts.some((a) => a.accountId === cmd.account))
          throw new UsageError(`unknown account "${cmd.account}"`);
        const p = await previewPeriod(cmd.account, cmd.period, { usage: store.usage, config });
        if (cmd.json) console.log(JSON.stringify(p));
        else {
          console.log(
            `${p.accountId} ${p.period} (preview, nothing written): ${p.lines.length} lines, ${p.amount} ${p.currency}; ${p.events} events, newest event ${p.newestEventAt ?? "none"}`,
          );
          for (const l of p.lines)
            console.log(`${l.line_type}\t${l.product}\t${l.dimensions}\t${l.quantity}\t${l.amount}`);
        }
        return EXIT.ok;
      }
      case "export": {
        // One period, or every period with closes: read through the period index, never a table scan.
        const periods = cmd.period ? [cmd.period] : await store.closedPeriods();
        const lines: InvoiceLine[] = [];
        const reports: AccountCloseReport[] = [];
        const read = new Map<string, Awaited<ReturnType<typeof readClosedPeriod>>>();
        for (const p of periods) read.set(p, await readClosedPeriod(store, p));
        // Nothing closed, nothing exported: a header-only CSV and a "0 accounts" manifest would pass
        // for a month that billed nothing (the finance API answers 404 for the same period).
        if (![...read.values()].some((r) => r.reports.length > 0))
          throw new NothingToExportError(
            cmd.period
              ? `period ${cmd.period} has no closed account: nothing exported (close it first: \`billing close --period ${cmd.period}\`)`
              : "no period has a closed account: nothing exported (close one first: `billing close --period YYYY-MM`)",
          );
        for (const p of periods) {
          const r = read.get(p) ?? { lines: [], reports: [] };
          lines.push(...r.lines);
          reports.push(...r.reports);
          // With a bucket, the period's manifest is rebuilt (missing account objects written first).
          if (objects) {
            const m = await writePeriodManifest({ periods: store, index: store, objects }, p);
            console.error(
              `${p}: manifest of ${m.accounts} accounts, ${m.lines} lines (${m.keys.join(", ")})`,
            );
          }
        }
        const marketplace = new DynamoMarketplaceStore(ddb, env.BILLING_TABLE);
        const files = await writeExports(cmd.out, {
          lines,
          reports,
          deadLetters: await store.list(),
          reportLists: store,
          // What the Metering API accepted, as our records hold it (rating-rules §6): for each period
          // exported, the hours in it of the period's azure-marketplace accounts, read per account.
          marketplaceUsage: await closedPeriodsMarketplaceUsage(marketplace, reports, config),
        });
        console.log(`exports: ${files.join(", ")}`);
        return EXIT.ok;
      }
      case "explain":
        return runExplain(store, cmd);
      case "dead-letters-list": {
        const l = await listDeadLetters(store, dlq, cmd.source !== undefined ? { source: cmd.source } : {});
        for (const d of l.invalid) {
          const event = eventOfLetter(d) ?? (d.subject !== undefined ? { subject: d.subject } : undefined);
          const origin = isRefusedLine(d) ? `(refused line ${d.messageId}) ` : "";
          console.log(
            [d.deadLetterId, ...eventColumns(event ? [event] : []), `${origin}${d.reason}`].join("\t"),
          );
        }
        for (const d of l.failedProcessing)
          console.log(
            [
              d.messageId,
              ...eventColumns(eventReferencesOf(d.body)),
              `(dlq, ${d.receiveCount} receives)`,
            ].join("\t"),
          );
        // G5: conflicts whose first copy's period was already closed (each also in a close report).
        const conflicts = (await store.lateConflicts.listLateConflicts()).filter(
          (c) => cmd.source === undefined || c.source === cmd.source,
        );
        for (const c of conflicts)
          console.log(
            `late-conflict\t${c.accountId}\t${c.referencePeriod}\t${c.source}\t${c.id}\t${new Date(c.seenAt).toISOString()}`,
          );
        console.error(
          `${l.invalid.length} invalid messages, ${l.failedProcessing.length} in the dead-letter queue, ${conflicts.length} late conflicts${
            cmd.source !== undefined ? ` from source ${JSON.stringify(cmd.source)}` : ""
          }`,
        );
        return EXIT.ok;
      }
      case "dead-letters-redrive": {
        const r = await redriveDeadLetters(store, new SqsUsageQueue(sqs, queueUrl as string), {
          ...(cmd.ids ? { ids: cmd.ids } : {}),
          ...(dlq ? { dlq } : {}),
          ...(blobs ? { blobs } : {}),
        });
        console.log(
          `redriven: ${r.redriven} from the dead-letter store, ${r.fromQueue} from the dead-letter queue`,
        );
        for (const k of r.kept) console.error(`kept ${k.deadLetterId}: ${k.reason}`);
        // Named letters that could not be redriven are a failure; kept ones of a redrive of all are expected.
        return cmd.ids && r.kept.length ? EXIT.failure : EXIT.ok;
      }
    }
  } finally {
    ddb.destroy();
    sqs.destroy();
  }
}

/** Usage errors (exit 2) and the help texts of the `billing` command. */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { BillingError } from "../shared/core/errors.js";
import { isPeriodId } from "../shared/core/time.js";

/** The command was called wrongly (arguments, environment): exit 2 with a message, never a stack trace. */
export class UsageError extends BillingError {
  override readonly name = "UsageError";
}

/** A `--period` value: YYYY-MM with a month from 01 to 12, else a usage error. */
export function checkedPeriod(period: string): string {
  if (!isPeriodId(period))
    throw new UsageError(`--period must be YYYY-MM with a month from 01 to 12, not "${period}"`);
  return period;
}

/** The `--period` option `command` needs: given and well-formed. */
export function periodOption(period: string | undefined, command: string): string {
  if (!period) throw new UsageError(`${command} needs --period YYYY-MM`);
  return checkedPeriod(period);
}

/**
 * The argument of a command that takes exactly one (`explain LINE_ID`, `ingest FILE`), and whether its
 * one boolean option `--flag` was given; `takes` is the usage error when the argument is not one.
 */
export function oneArgument(
  args: string[],
  flag: string,
  takes: string,
): { argument: string; flagged: boolean } {
  const { values, positionals } = parse({
    args,
    allowPositionals: true,
    options: { [flag]: { type: "boolean" } },
  });
  if (positionals.length !== 1 || !positionals[0]) throw new UsageError(takes);
  return { argument: positionals[0], flagged: values[flag] === true };
}

/** `billing export` of what was never closed: exit 2, nothing written (the command was aimed wrong). */
export class NothingToExportError extends BillingError {
  override readonly name = "NothingToExportError";
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export const COMMANDS = [
  "simulate",
  "config",
  "ingest",
  "close",
  "preview",
  "export",
  "dead-letters",
  "marketplace",
  "stack",
  "report",
  "explain",
] as const;
export type CommandName = (typeof COMMANDS)[number];

const stackEnv = `A configured stack is named by BILLING_TABLE, AWS_REGION, USAGE_QUEUE_URL, USAGE_DLQ_URL and,
for a local one, DYNAMODB_ENDPOINT and SQS_ENDPOINT.`;

export const HELP: Record<CommandName | "billing", string> = {
  billing: `usage:
  billing simulate --accounts FILE --tariffs FILE --step ingest:FILE.jsonl --step close:YYYY-MM [--step …] --out DIR
  billing config load --accounts FILE --tariffs FILE
  billing ingest FILE.jsonl [--drain]
  billing close --period YYYY-MM [--account ID …] [--force]
  billing preview --account ID --period YYYY-MM [--json]
  billing export --out DIR [--period YYYY-MM]
  billing dead-letters list [--source S] | redrive [--id ID …]
  billing marketplace reconcile --period YYYY-MM [--account ID …]
  billing stack start | stop | status --dir DIR
  billing report --period YYYY-MM --out DIR
  billing explain LINE_ID [--json]
  billing COMMAND --help
  billing --version

Every command takes --debug (stack traces of failures). Exit codes: 0 ok, 1 failure, 2 usage error.
${stackEnv}`,
  simulate: `usage: billing simulate --accounts FILE --tariffs FILE --step STEP [--step STEP …] --out DIR [--quiet]

Runs the real functions on an embedded local stack (DynamoDB Local, an SQS server) on a virtual clock.
Steps run in order:
  ingest:FILE.jsonl   sends every line of the file to the usage queue and waits until it is drained
                      (a line the queue refuses is dead-lettered with the file and line number)
  close:YYYY-MM       closes that period for every account
Writes DIR/invoice-lines.csv, DIR/invoice-lines.json, DIR/close-report.json, DIR/marketplace-usage.json
and, with azure-marketplace accounts, DIR/marketplace-reconciliation.csv (per account, month and
dimension) and DIR/marketplace-usage-events.csv (per resource, dimension and hour: computed, sent,
status, Microsoft's message). With MARKETPLACE_API_URL set, the hourly reporter calls that Metering API
instead of the local one (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET: an Entra ID token);
and, for each period closed, the page for finance DIR/report-YYYY-MM.html (see \`billing report\`).
Ctrl-C or SIGTERM stops everything it started.`,
  config: `usage: billing config load --accounts FILE --tariffs FILE

Checks the accounts and tariffs files and stores them as the stack's configuration.
${stackEnv}`,
  ingest: `usage: billing ingest FILE.jsonl [--drain]

Sends every line of the file to the usage queue; a line the queue refuses (invalid UTF-8, a forbidden
character, over the size limit) is dead-lettered with the file and line number, and the command exits 1
once the other lines are sent. --drain runs the ingest
handler locally until the queue is empty (local stacks have no Lambda).
${stackEnv}`,
  close: `usage: billing close --period YYYY-MM [--account ID …] [--force]

Closes the period for every account (or those named). A period that is not over yet for an account
(in its time zone) is refused unless --force; unknown account ids are refused.
${stackEnv}`,
  preview: `usage: billing preview --account ID --period YYYY-MM [--json]

Month-to-date: the invoice lines the account's period would close with now (same rating as the close,
from the same state), and the time of the newest event included. Writes nothing. --json prints one
JSON object.
${stackEnv}`,
  export: `usage: billing export --out DIR [--period YYYY-MM]

Writes the invoice lines, close reports and marketplace usage stored in the stack to DIR: of one period
(--period), or of every period with closes. Read through the period index, never a table scan. With
EXPORTS_BUCKET set, also rebuilds each period's manifest in the bucket (invoice-lines/period=YYYY-MM/
_manifest.json), first writing any closed account's objects that are missing. A period with no closed
account (or no closed period at all) exits 2 and writes nothing. docs/tables/ has the Athena and
DuckDB tables (decimal types) for the bucket's objects.
${stackEnv}`,
  marketplace: `usage: billing marketplace reconcile --period YYYY-MM [--account ID …]

Prints the Marketplace reconciliation of the billing month as CSV: per azure-marketplace account and
dimension, rated, included and overage quantities against the quantities the Metering API accepted,
refused (Expired or rejected) or has not answered yet (pending), with status reconciled, short or over;
last, expired_quantity: the part refused because its hour was past Microsoft's 24 hours (the reporter
reached it too late, or the API answered Expired), usage Microsoft will never bill.
Exit 1, saying so, while no Marketplace reporter has run for an account (nothing was ever sent).
${stackEnv}`,
  "dead-letters": `usage: billing dead-letters list [--source SOURCE]
       billing dead-letters redrive [--id ID …]

list: every dead letter (invalid messages, refused lines) and every message of the SQS dead-letter queue,
one a line, tab-separated: the id to redrive, the CloudEvent source, id, type and subject ("-" when
they could not be read) and the reason; then every late conflict (rating-rules G5: a re-delivery with
other content whose first copy's period was already closed; "late-conflict", account, reference
period, source, id, seen at). --source: only those about events from that source.
redrive: sends them back to the usage queue; with --id, only those named (each id must exist).
${stackEnv}`,
  stack: `usage: billing stack start --dir DIR [--clock-start ISO-INSTANT]
       billing stack stop --dir DIR
       billing stack status --dir DIR
       billing stack serve --dir DIR

start: starts a local stack that stays up, all on 127.0.0.1 and free ports: DynamoDB Local with its
data in DIR/dynamodb, the SQS/S3 server, the event-source poller running the ingest handler, the
finance API (BILLING_API_URL) and the local Metering API; returns once every part answers and prints the environment, also written to
DIR/env: \`source DIR/env\`, then \`billing config load\`, \`ingest\`, \`close\`, \`export\` …
stop: stops every process start started, and waits until they are gone. The DynamoDB data
(DIR/dynamodb) and the exports bucket's objects (DIR/s3: exports, manifests, large dead-letter bodies)
survive a stop and a start; the queues are created again (empty) at each start, on new ports: source
DIR/env again. The stack runs the Marketplace reporter hourly and when a new azure-marketplace account
is stored. --clock-start: the stack's clock (ingest's receipt time, the reporter, the finance API)
starts at that instant and runs at real speed, to try data of a past month (rating-rules G5 refuses
events more than 400 days before their receipt as too old). status: whether it runs and answers. serve: runs the stack in the
foreground until Ctrl-C (start runs it detached, its output in DIR/stack.log).`,
  report: `usage: billing report --period YYYY-MM --out DIR

Writes the period's page for finance, DIR/report-YYYY-MM.html (one self-contained file: per currency
what we invoice and what Microsoft invoices, totals by currency and invoicer, amounts by product
family, every closed account with its lines (those without lines with the reason), the change against
the previous period where it was closed ("not closed" otherwise), adjustments and conflicts with their
reference periods, suspense, rejected messages, accounts with usage and no close), and the exports it links to:
DIR/invoice-lines-YYYY-MM.csv and .json (the lines billed in the period), DIR/close-report-YYYY-MM.json.
${stackEnv}`,
  explain: `usage: billing explain LINE_ID [--json]

Why an invoice line was charged, as its close wrote it down: the rating-rules row applied, the tariff
version and rate entry (match, unit price, tiers or package), how the quantity was derived, up to 20
sample events (source, id, time), and for an adjustment the late events behind it and the lines it
corrects. --json prints the explanation object. Exit 1 when no line has that id.
${stackEnv}`,
};

/** node:util parseArgs, its errors (unknown option, missing value …) turned into usage errors. */
export function parse<const T extends ParseArgsConfig>(config: T) {
  try {
    return parseArgs<T>(config);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS"))
      throw new UsageError((e as Error).message, { cause: e });
    throw e;
  }
}

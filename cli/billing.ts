/**
 * `billing` command line (contract §5).
 *   billing simulate --accounts F --tariffs F --step ingest:F.jsonl --step close:YYYY-MM … --out DIR
 *   billing ingest FILE.jsonl [--drain]   billing close --period YYYY-MM   billing export --out DIR [--period P]
 *   billing config load --accounts F --tariffs F   billing dead-letters list|redrive [--id ID …]
 * The last four work against a configured stack: BILLING_TABLE, AWS_REGION, USAGE_QUEUE_URL,
 * USAGE_DLQ_URL and, for a local stack, DYNAMODB_ENDPOINT and SQS_ENDPOINT.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage error. Stack traces only with --debug.
 */
import { readFile } from "node:fs/promises";
import { UnknownDeadLetterError } from "../shared/app/dead-letters.js";
import { ConfigFileError } from "../shared/core/config.js";
import { ConfigurationError } from "../shared/runtime/environment.js";
import { IngestFileError } from "./ingest-file.js";
import { parseReportCommand, runReportCommand } from "./report.js";
import { handleInterrupts, interruptedBy } from "./shutdown.js";
import { runSimulation, SimulationInputError } from "./simulate.js";
import { parseStackControl, runStackControl } from "./stack.js";
import { MarketplaceNotReportedError, parseStackCommand, runStackCommand } from "./stack-commands.js";
import { COMMANDS, type CommandName, EXIT, HELP, NothingToExportError, parse, UsageError } from "./usage.js";

/** The version an operator quotes in a ticket: package.json's, the one file a release bumps. */
async function packageVersion(): Promise<string> {
  const file = new URL("../package.json", import.meta.url);
  return (JSON.parse(await readFile(file, "utf8")) as { version: string }).version;
}

const isCommand = (c: string): c is CommandName => (COMMANDS as readonly string[]).includes(c);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    console.error(HELP.billing);
    return EXIT.usage;
  }
  if (command === "--version" || command === "-V") {
    console.log(`billing ${await packageVersion()}`);
    return EXIT.ok;
  }
  if (command === "--help" || command === "-h" || command === "help") {
    const topic = rest[0];
    console.log(topic && isCommand(topic) ? HELP[topic] : HELP.billing);
    return EXIT.ok;
  }
  if (!isCommand(command)) throw new UsageError(`unknown command "${command}"`);
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(HELP[command]);
    return EXIT.ok;
  }
  if (command === "simulate") {
    const { values, positionals } = parse({
      args: rest,
      allowPositionals: true,
      options: {
        accounts: { type: "string" },
        tariffs: { type: "string" },
        step: { type: "string", multiple: true },
        out: { type: "string" },
        quiet: { type: "boolean" },
      },
    });
    if (positionals.length) throw new UsageError(`simulate takes no argument "${positionals[0]}"`);
    const missing = [
      ...(values.accounts ? [] : ["--accounts"]),
      ...(values.tariffs ? [] : ["--tariffs"]),
      ...(values.step?.length ? [] : ["--step"]),
      ...(values.out ? [] : ["--out"]),
    ];
    if (missing.length) throw new UsageError(`simulate needs ${missing.join(", ")}`);
    handleInterrupts((m) => process.stderr.write(`${m}\n`));
    await runSimulation({
      accountsFile: values.accounts as string,
      tariffsFile: values.tariffs as string,
      steps: values.step as string[],
      outDir: values.out as string,
      progress: values.quiet ? () => undefined : (m) => process.stderr.write(`${m}\n`),
      print: (m) => process.stdout.write(`${m}\n`),
    });
    return EXIT.ok;
  }
  if (command === "stack") return runStackControl(parseStackControl(rest));
  if (command === "report") return runReportCommand(parseReportCommand(rest));
  // Arguments are checked before the environment is read or any storage is touched.
  const parsed = parseStackCommand(command, rest);
  return runStackCommand(parsed);
}

const args = process.argv.slice(2);
const debug = args.includes("--debug");

/** Errors whose message says it all: no stack trace (unless --debug). */
const expected = (e: unknown) =>
  e instanceof UsageError ||
  e instanceof ConfigurationError ||
  e instanceof ConfigFileError ||
  e instanceof SimulationInputError ||
  e instanceof IngestFileError ||
  e instanceof UnknownDeadLetterError ||
  e instanceof NothingToExportError ||
  e instanceof MarketplaceNotReportedError;

// Anything escaping main (an error event, a stray rejection) still ends in a message, not a trace;
// process.exit runs the 'exit' handlers that kill a DynamoDB Local JVM.
for (const event of ["uncaughtException", "unhandledRejection"] as const)
  process.on(event, (e: unknown) => {
    if (interruptedBy()) return;
    console.error(`billing: ${e instanceof Error ? e.message : String(e)}`);
    console.error(
      debug && e instanceof Error && e.stack ? e.stack : "(run with --debug for the stack trace)",
    );
    process.exit(EXIT.failure);
  });

main(args.filter((a) => a !== "--debug")).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Work torn down by Ctrl-C/SIGTERM fails on its way out: the signal handler reports and exits.
    if (interruptedBy()) return;
    const message = e instanceof Error ? e.message : String(e);
    const usage =
      e instanceof UsageError ||
      e instanceof ConfigurationError ||
      e instanceof UnknownDeadLetterError ||
      e instanceof NothingToExportError;
    console.error(`billing: ${message}`);
    const command = args.find((a) => a !== "--debug");
    if (e instanceof UsageError || e instanceof ConfigurationError)
      console.error(`run \`billing ${command && isCommand(command) ? `${command} ` : ""}--help\` for usage`);
    if (debug && e instanceof Error && e.stack) console.error(e.stack);
    else if (!expected(e)) console.error("(run with --debug for the stack trace)");
    process.exitCode = usage ? EXIT.usage : EXIT.failure;
  },
);

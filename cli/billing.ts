/**
 * `billing` command line (contract §5).
 *   billing simulate --accounts F --tariffs F --step ingest:F.jsonl --step close:YYYY-MM … --out DIR
 *   billing ingest FILE.jsonl [--drain]   billing close --period YYYY-MM   billing export --out DIR
 *   billing config load --accounts F --tariffs F   billing dead-letters list|redrive [--id ID …]
 * The last four work against a configured stack: BILLING_TABLE, AWS_REGION, USAGE_QUEUE_URL,
 * USAGE_DLQ_URL and, for a local stack, DYNAMODB_ENDPOINT and SQS_ENDPOINT.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { ConfigFileError } from "../shared/core/config.js";
import { runSimulation, SimulationInputError } from "./simulate.js";
import { runStackCommand } from "./stack-commands.js";

const usage = `usage:
  billing simulate --accounts FILE --tariffs FILE --step ingest:FILE.jsonl --step close:YYYY-MM [--step …] --out DIR
  billing config load --accounts FILE --tariffs FILE
  billing ingest FILE.jsonl [--drain]
  billing close --period YYYY-MM [--account ID …]
  billing export --out DIR
  billing dead-letters list | redrive [--id ID …]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "simulate") {
    const { values } = parseArgs({
      args: rest,
      options: {
        accounts: { type: "string" },
        tariffs: { type: "string" },
        step: { type: "string", multiple: true },
        out: { type: "string" },
        quiet: { type: "boolean" },
      },
    });
    if (!values.accounts || !values.tariffs || !values.out || !values.step?.length) {
      console.error(usage);
      return 2;
    }
    await runSimulation({
      accountsFile: values.accounts,
      tariffsFile: values.tariffs,
      steps: values.step,
      outDir: values.out,
      progress: values.quiet ? () => undefined : (m) => process.stderr.write(`${m}\n`),
      print: (m) => process.stdout.write(`${m}\n`),
    });
    return 0;
  }
  if (command === "--help" || command === "help" || command === undefined) {
    console.log(usage);
    return command === undefined ? 2 : 0;
  }
  return runStackCommand(command, rest, { usage, readFile: (p) => readFile(p, "utf8") });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof ConfigFileError || e instanceof SimulationInputError)
      console.error(`billing: ${e.message}`);
    else console.error(`billing: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  },
);

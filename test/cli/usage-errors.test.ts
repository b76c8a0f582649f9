/**
 * Usage errors of the `billing` command: a message and exit code 2, never a stack trace (those only
 * with --debug); help exits 0. Nothing here needs a stack: arguments are checked before the
 * environment is read or storage is touched.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { billing, root, STACK_LINE } from "../support/cli.js";

/** No stack configured at all: a command that got past its argument checks would fail on this. */
const noStack: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };

describe("billing usage errors", () => {
  it.each([
    [["frobnicate"], /^billing: unknown command "frobnicate"$/m],
    [
      ["close", "--period", "2025-13"],
      /^billing: --period must be YYYY-MM with a month from 01 to 12, not "2025-13"$/m,
    ],
    [["close"], /^billing: close needs --period YYYY-MM$/m],
    [["close", "--period", "2025-07", "--bogus"], /^billing: Unknown option '--bogus'/m],
    [["ingest"], /^billing: ingest takes one file/m],
    [["dead-letters", "purge"], /^billing: dead-letters takes list or redrive$/m],
    [["simulate", "--accounts", "a.json"], /^billing: simulate needs --tariffs, --step, --out$/m],
    [["export"], /^billing: export needs --out DIR$/m],
  ])("billing %j exits 2 with a message and no stack trace", async (args, message) => {
    const r = await billing(args, noStack);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it("a missing environment is a usage error naming the variable, without a stack trace", async () => {
    const r = await billing(["close", "--period", "2025-07"], noStack);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^billing: missing or invalid configuration: BILLING_TABLE is not set \(the DynamoDB table's name\)$/m,
    );
    expect(r.stderr).toMatch(/run `billing close --help` for usage/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it("a malformed variable is named with its value and what it should be, in plain words (no schema text)", async () => {
    const r = await billing(["dead-letters", "list"], {
      ...noStack,
      BILLING_TABLE: "billing",
      USAGE_QUEUE_URL: "not-a-url",
      CONFIG_CACHE_SECONDS: "1.5",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CONFIG_CACHE_SECONDS must be a whole number, not "1.5"/);
    expect(r.stderr).toMatch(
      /USAGE_QUEUE_URL must be a URL such as http:\/\/127.0.0.1:4566, not "not-a-url"/,
    );
    expect(r.stderr).not.toMatch(/Invalid input|expected string|received/);
  });

  it("billing --version prints package.json's version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const r = await billing([flag], noStack);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`billing ${version}\n`);
    }
  });

  it("a missing USAGE_QUEUE_URL for ingest is reported before the file or storage is touched", async () => {
    const r = await billing(["ingest", "/nonexistent/events.jsonl"], {
      ...noStack,
      BILLING_TABLE: "billing",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^billing: USAGE_QUEUE_URL must be set for this command$/m);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it.each([["simulate"], ["close"], ["dead-letters"], ["ingest"]])(
    "billing %s --help prints its help and exits 0",
    async (command) => {
      const r = await billing([command, "--help"], noStack);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: billing ${command}`, "m"));
      expect(r.stderr).toBe("");
    },
  );

  it("billing --help lists the commands and the exit codes; no command at all is a usage error", async () => {
    const help = await billing(["--help"], noStack);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 ok, 1 failure, 2 usage error/);
    const none = await billing([], noStack);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^usage:/);
  });

  it("--debug shows the stack trace", async () => {
    const r = await billing(["frobnicate", "--debug"], noStack);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(STACK_LINE);
  });
});

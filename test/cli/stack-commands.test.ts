/**
 * `billing config load | ingest | close | export | dead-letters` against a configured stack
 * (contract §5): here the embedded local stack, named by environment variables as a deployed one would be.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { configLoadArgs, useStackCommands } from "../support/cli.js";

const root = resolve(import.meta.dirname, "..", "..");
const basic = join(root, "examples", "basic");

describe("billing commands against a configured stack", () => {
  const stack = useStackCommands();
  const billing = stack.billing;

  it("loads the configuration, ingests, closes, exports and lists dead letters", async () => {
    const load = await billing(...configLoadArgs());
    expect(load.code, load.stderr).toBe(0);
    expect(load.stdout).toContain("loaded 1 accounts and 1 tariffs");

    const dir = await mkdtemp(join(tmpdir(), "billing-stack-"));
    const events = join(dir, "events.jsonl");
    // examples/basic's July 2025 moved to the latest July that has ended (with a day's margin): the
    // CLI's drain receives the events on the real clock, and G5 refuses events more than 400 days old.
    const now = new Date(Date.now() - 24 * 3600 * 1000);
    const year = now.getUTCMonth() >= 7 ? now.getUTCFullYear() : now.getUTCFullYear() - 1;
    const july = (await readFile(join(basic, "events.jsonl"), "utf8")).replaceAll(
      '"time": "2025-',
      `"time": "${year}-`,
    );
    await writeFile(events, `${july}{"not":"a cloudevent"}\n`);
    const ingest = await billing("ingest", events, "--drain");
    expect(ingest.code, ingest.stderr).toBe(0);
    expect(ingest.stderr).toMatch(/sent 25 messages/);
    expect(ingest.stderr).toMatch(/drained: 25 processed/);

    const close = await billing("close", "--period", `${year}-07`);
    expect(close.code, close.stderr).toBe(0);
    expect(close.stdout).toMatch(new RegExp(`^acme ${year}-07 closed: 12 lines, 225\\.44 EUR$`, "m"));

    const out = join(dir, "out");
    const exported = await billing("export", "--out", out);
    expect(exported.code, exported.stderr).toBe(0);
    const csv = await readFile(join(out, "invoice-lines.csv"), "utf8");
    expect(csv.trim().split("\n")).toHaveLength(13);
    expect(JSON.parse(await readFile(join(out, "close-report.json"), "utf8")).reports[0].totals.amount).toBe(
      "225.44",
    );

    const letters = await billing("dead-letters", "list");
    expect(letters.code, letters.stderr).toBe(0);
    expect(letters.stdout).toMatch(/invalid CloudEvents envelope/);
    expect(letters.stderr).toMatch(/1 invalid messages, 0 in the dead-letter queue/);
  }, 120_000); // five commands, each a fresh Node process: slow on a loaded machine, not a budget

  it("refuses to run without a configured stack", async () => {
    const saved = stack.env;
    stack.env = { ...process.env, BILLING_TABLE: "" };
    const r = await billing("close", "--period", "2025-07");
    stack.env = saved;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/missing or invalid configuration: BILLING_TABLE is empty/);
  });
});

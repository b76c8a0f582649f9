/**
 * `billing simulate` with an azure-marketplace account and an event dated 2100 (issue: the hourly
 * reporter walked every hour to 2100): the run completes, and the reporter ran a handful of times,
 * as its progress line counts (hours visited, not wall time). The 2100 event comes in a step of its
 * own, after July's close: a step's messages are received at its latest event time, and July's
 * events received in 2100 would be refused as more than 400 days old (rating-rules G5).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { simulateArgs } from "../support/cli.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..", "..");
const ex = join(root, "examples", "azure-marketplace");

describe("billing simulate with an event dated 2100", () => {
  it("finishes after a bounded number of hourly reporter runs and closes July", async () => {
    const dir = await mkdtemp(join(tmpdir(), "billing-2100-"));
    const events = (await readFile(join(ex, "events.jsonl"), "utf8")).trim().split("\n");
    const first = JSON.parse(events[0]!) as Record<string, unknown>;
    const far = JSON.stringify({ ...first, id: "far-future", time: "2100-01-01T10:30:00Z" });
    const farFile = join(dir, "far.jsonl");
    await writeFile(farFile, `${far}\n`);
    const args = (out: string) => [
      join(root, "bin", "billing.js"),
      ...simulateArgs(out, {
        dir: ex,
        steps: [`ingest:${join(ex, "events.jsonl")}`, "close:2025-07", `ingest:${farFile}`],
      }),
    ];
    const r = await run("node", args(join(dir, "out")), { cwd: root, timeout: 170_000 });
    const runs = Number(/marketplace: (\d+) hourly runs/.exec(r.stderr)?.[1]);
    expect(runs).toBeGreaterThan(0);
    expect(runs).toBeLessThan(20); // a walk to 2100 would be ~657,000 runs
    expect(r.stderr).not.toMatch(/dead-lettered [1-9]/);
    expect(r.stderr).toMatch(/drained: stored 1, duplicates 0, conflicts 0, dead-lettered 0, retried 0/);

    // The July close is still there, whatever lies in 2100.
    const csv = await readFile(join(dir, "out", "invoice-lines.csv"), "utf8");
    expect(csv).toMatch(/^contoso,2025-07,/m);
    expect(csv).not.toMatch(/,2100-01,/);
  }, 180_000);
});

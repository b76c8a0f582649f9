/**
 * `billing simulate` reads a batch body (one JSON array of CloudEvents on a line, as the ingest
 * handler accepts it) like single ones: the virtual clock starts at the earliest event inside the
 * batches and each step moves it to the latest, so the hourly Marketplace runs, the reconciliation's
 * billing month and the report are those of the same events sent one per line.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { eventTimesOf, runSimulation } from "../../cli/simulate.js";
import { parseCsv } from "../support/csv.js";

const example = (f: string) => new URL(`../../examples/azure-marketplace/${f}`, import.meta.url).pathname;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The file's lines regrouped `size` to a line, each group one JSON array. */
async function batched(file: string, size: number, dir: string): Promise<string> {
  const events = (await readFile(example(file), "utf8"))
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);
  const lines: string[] = [];
  for (let i = 0; i < events.length; i += size) lines.push(JSON.stringify(events.slice(i, i + size)));
  const out = join(dir, file);
  await writeFile(out, `${lines.join("\n")}\n`);
  return out;
}

/** The CSV without one column: the Metering API's usage event ids are its own, new at every run. */
function withoutColumn(csv: string, name: string): string[][] {
  const rows = parseCsv(csv);
  const at = rows[0]?.indexOf(name) ?? -1;
  expect(at).toBeGreaterThanOrEqual(0);
  return rows.map((r) => r.filter((_, i) => i !== at));
}

async function simulate(files: string[], out: string) {
  const progress: string[] = [];
  await runSimulation({
    accountsFile: example("accounts.json"),
    tariffsFile: example("tariffs.json"),
    steps: [...files.map((f) => `ingest:${f}`), "close:2025-07"],
    outDir: out,
    progress: (m) => progress.push(m),
    print: () => undefined,
  });
  const read = (f: string) => readFile(join(out, f), "utf8");
  return {
    progress,
    clockStart: progress.find((m) => m.includes("virtual clock at")),
    runs: progress.find((m) => m.startsWith("marketplace:")),
    usage: JSON.parse(await read("marketplace-usage.json")) as unknown[],
    reconciliation: await read("marketplace-reconciliation.csv"),
    events: withoutColumn(await read("marketplace-usage-events.csv"), "usage_event_id"),
    lines: await read("invoice-lines.csv"),
  };
}

describe("billing simulate on batch bodies", () => {
  it("reads every event time of a batch body, and none of what is not an event", () => {
    expect(
      eventTimesOf(JSON.stringify([{ time: "2025-07-02T09:05:00Z" }, { time: "2025-07-02T13:05:00Z" }])),
    ).toEqual([Date.parse("2025-07-02T09:05:00Z"), Date.parse("2025-07-02T13:05:00Z")]);
    expect(eventTimesOf('{"time":"2025-07-02T09:05:00Z"}')).toEqual([Date.parse("2025-07-02T09:05:00Z")]);
    expect(eventTimesOf("not json")).toEqual([]);
    expect(eventTimesOf('[null, 3, {"time": 5}, {"time": "yesterday"}]')).toEqual([]);
  });

  it("examples/azure-marketplace regrouped into batch bodies gives the same Marketplace report", async () => {
    const dir = await mkdtemp(join(tmpdir(), "billing-batch-sim-"));
    dirs.push(dir);
    const single = await simulate(
      [example("events.jsonl"), example("late-events.jsonl")],
      join(dir, "single"),
    );
    // Groups of 4 and 2: the first events.jsonl line and the late event c-13 sit inside arrays.
    const batches = await simulate(
      [await batched("events.jsonl", 4, dir), await batched("late-events.jsonl", 2, dir)],
      join(dir, "batches"),
    );
    expect(batches.clockStart).toMatch(/virtual clock at 2025-07-02T09:05:00.000Z/);
    expect(batches.clockStart).toBe(single.clockStart);
    expect(single.runs).toMatch(/^marketplace: [1-9]\d* hourly runs/);
    expect(batches.runs).toBe(single.runs);
    const expected = JSON.parse(await readFile(example("expected-marketplace.json"), "utf8")) as unknown[];
    expect(batches.usage).toEqual(expected);
    expect(batches.reconciliation).toBe(single.reconciliation);
    expect(batches.reconciliation).toMatch(/,2025-07,.*,reconciled/);
    expect(batches.events).toEqual(single.events);
    expect(batches.lines).toBe(single.lines);
  }, 300_000); // two simulations on a shared machine: not a budget
});

/**
 * `billing simulate` with MARKETPLACE_API_URL (issue 11): the reporter calls that Metering API — here
 * a local one the test starts as "any implementation of the API", judging time on its own clock —
 * instead of starting the embedded one, the simulation's virtual clock still driving the hourly
 * runs; the run writes marketplace-usage.json (what that API accepted, from our records),
 * marketplace-reconciliation.csv and marketplace-usage-events.csv.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runSimulation } from "../../cli/simulate.js";
import { LocalMeteringApi, meteringResourcesOf } from "../../local/metering-api.js";
import { parseAccounts, parseTariffs } from "../../shared/core/config.js";
import { parseCsv } from "../support/csv.js";

/** Rows of a CSV with a header, as objects keyed by column. */
function readCsv(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((r) => Object.fromEntries((header ?? []).map((h, i) => [h, r[i] ?? ""])));
}

const example = (f: string) => new URL(`../../examples/azure-marketplace/${f}`, import.meta.url).pathname;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("billing simulate on an azure-marketplace account, reporting to MARKETPLACE_API_URL", () => {
  it("uses that Metering API on the virtual clock's hourly runs and writes the usage, reconciliation and event files", async () => {
    const tariffs = parseTariffs(JSON.parse(await readFile(example("tariffs.json"), "utf8")));
    const accounts = parseAccounts(JSON.parse(await readFile(example("accounts.json"), "utf8")), tariffs);
    // Another implementation of the API, with its own clock: the afternoon of the scenario's day.
    const other = new LocalMeteringApi({
      clock: { now: () => Date.parse("2025-07-02T16:30:00Z") },
      resources: meteringResourcesOf(accounts),
    });
    const server = await other.start();
    const out = await mkdtemp(join(tmpdir(), "billing-mkt-sim-"));
    dirs.push(out);
    const progress: string[] = [];
    const previous = process.env.MARKETPLACE_API_URL;
    process.env.MARKETPLACE_API_URL = server.url;
    try {
      await runSimulation({
        accountsFile: example("accounts.json"),
        tariffsFile: example("tariffs.json"),
        steps: ["ingest:events.jsonl", "ingest:late-events.jsonl", "close:2025-07"].map((s) =>
          s.startsWith("ingest:") ? `ingest:${example(s.slice(7))}` : s,
        ),
        outDir: out,
        progress: (m) => progress.push(m),
        print: () => undefined,
      });
    } finally {
      if (previous === undefined) delete process.env.MARKETPLACE_API_URL;
      else process.env.MARKETPLACE_API_URL = previous;
      await server.stop();
    }
    expect(progress).toContain(`marketplace: reporting to ${server.url} (MARKETPLACE_API_URL)`);
    const expected = JSON.parse(await readFile(example("expected-marketplace.json"), "utf8")) as unknown[];
    const usage = JSON.parse(await readFile(join(out, "marketplace-usage.json"), "utf8")) as unknown[];
    expect(usage).toEqual(expected);
    expect(other.accepted()).toEqual(expected);
    expect(other.stats().calls).toBeGreaterThan(0);

    const reconciliation = await readFile(join(out, "marketplace-reconciliation.csv"), "utf8");
    expect(reconciliation.split("\n")[0]).toBe(
      "account_id,period,resource_id,plan_id,dimension,rated_quantity,included_quantity,overage_quantity,accepted_quantity,rejected_quantity,pending_quantity,status,expired_quantity",
    );
    const rows = readCsv(reconciliation);
    expect(rows.map((r) => [r.dimension, r.overage_quantity, r.accepted_quantity, r.status])).toEqual([
      ["sms_mo", "1", "1", "reconciled"],
      ["sms_mt", "6", "6", "reconciled"],
    ]);
    const events = readCsv(await readFile(join(out, "marketplace-usage-events.csv"), "utf8"));
    expect(
      events.map((e) => [e.effective_start_time, e.dimension, e.quantity_sent, e.marketplace_status]),
    ).toEqual(
      (expected as { effectiveStartTime: string; dimension: string; quantity: number }[]).map((e) => [
        e.effectiveStartTime,
        e.dimension,
        String(e.quantity),
        "Accepted",
      ]),
    );
  });
});

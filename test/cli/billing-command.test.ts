/** The `billing` command as a user runs it (contract §5): exit codes, messages, nothing left running. */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { alive, billing, refused, simulateArgs } from "../support/cli.js";

describe("billing simulate", () => {
  it("runs the example month end, prints the per-account summary, writes the exports and leaves nothing running", async () => {
    const out = await mkdtemp(join(tmpdir(), "billing-sim-"));
    const r = await billing(simulateArgs(out));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^account\s+period\s+channel\s+lines\s+total/m);
    expect(r.stdout).toMatch(/^acme\s+2025-07\s+direct\s+\d+\s+\d+\.\d\d EUR/m);
    expect(r.stderr).toMatch(/sent 24 messages/);
    expect(r.stderr).toMatch(/stored 23, duplicates 1/);
    const csv = await readFile(join(out, "invoice-lines.csv"), "utf8");
    expect(csv.split("\n")[0]).toBe(
      "account_id,period,line_id,line_type,product,dimensions,description,quantity,unit,unit_price,amount,currency,billing_channel,reference_period,tariff_version",
    );
    expect(JSON.parse(await readFile(join(out, "invoice-lines.json"), "utf8"))).toHaveLength(
      csv.trim().split("\n").length - 1,
    );
    expect(JSON.parse(await readFile(join(out, "close-report.json"), "utf8")).reports[0].accountId).toBe(
      "acme",
    );
    expect(JSON.parse(await readFile(join(out, "marketplace-usage.json"), "utf8"))).toEqual([]);
    // The finance page of the period closed (issue 10 item 4), beside the exports it links to.
    expect(await readFile(join(out, "report-2025-07.html"), "utf8")).toContain('href="invoice-lines.csv"');

    const m = /DynamoDB Local pid (\d+) at (\S+), SQS at (\S+)/.exec(r.stderr);
    expect(m).not.toBeNull();
    const [, pid, dynamo, sqs] = m!;
    expect(alive(Number(pid))).toBe(false);
    expect(await refused(dynamo!)).toBe(true);
    expect(await refused(sqs!)).toBe(true);
  });

  it("refuses a bad tariffs file with a non-zero exit naming the file, the entry and the field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "billing-bad-"));
    const tariffs = join(dir, "tariffs.json");
    await writeFile(
      tariffs,
      JSON.stringify([
        {
          tariffId: "std-eur",
          currency: "EUR",
          versions: [
            {
              publishedAt: "2024-12-01T00:00:00Z",
              effectiveFrom: "2025-01-01T00:00:00Z",
              rates: [{ product: "fax.page", unitPrice: "1" }],
            },
          ],
        },
      ]),
    );
    const r = await billing(simulateArgs(join(dir, "out"), { tariffs }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `${tariffs}: entry 0 (std-eur), field versions.0.rates.0.product: unknown product "fax.page"`,
    );
  });

  it("refuses an unknown step", async () => {
    const r = await billing(simulateArgs("/tmp/x", { steps: ["close:2025-13"] }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/bad --step "close:2025-13"/);
  });
});

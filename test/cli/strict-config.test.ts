/** `billing simulate` refuses a bad accounts file before starting anything, naming file, entry and field. */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { basic, billing, simulateArgs } from "../support/cli.js";

describe("billing simulate with a strict accounts file", () => {
  it("exits non-zero on a misspelt key (timeZone), naming the file, the entry and the field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "billing-strict-"));
    const accounts = JSON.parse(await readFile(join(basic, "accounts.json"), "utf8")) as Record<
      string,
      unknown
    >[];
    const [first, ...others] = accounts;
    const { timezone, ...rest } = first as Record<string, unknown>;
    const file = join(dir, "accounts.json");
    await writeFile(file, JSON.stringify([{ ...rest, timeZone: timezone ?? "Europe/Istanbul" }, ...others]));
    const r = await billing(simulateArgs(join(dir, "out"), { accounts: file }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `${file}: entry 0 (${String(first?.accountId)}), field timeZone: unknown field "timeZone" (did you mean "timezone"?)`,
    );
    expect(r.stderr).not.toMatch(/starting local stack/);
  }, 120_000);

  it("exits non-zero on an empty accounts file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "billing-strict-"));
    const file = join(dir, "accounts.json");
    await writeFile(file, "[]\n");
    const r = await billing(simulateArgs(join(dir, "out"), { accounts: file, steps: ["close:2025-07"] }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${file}: (file): the file holds no accounts`);
  }, 120_000);
});

/** `billing simulate` refuses a bad accounts file before starting anything, naming file, entry and field. */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..", "..");
const billing = (args: string[]) =>
  run("node", [join(root, "bin", "billing.js"), ...args], { cwd: root, timeout: 120_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    }),
  );

describe("billing simulate with a strict accounts file", () => {
  it("exits non-zero on a misspelt key (timeZone), naming the file, the entry and the field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "billing-strict-"));
    const ex = join(root, "examples", "basic");
    const accounts = JSON.parse(await readFile(join(ex, "accounts.json"), "utf8")) as Record<
      string,
      unknown
    >[];
    const [first, ...others] = accounts;
    const { timezone, ...rest } = first as Record<string, unknown>;
    const file = join(dir, "accounts.json");
    await writeFile(file, JSON.stringify([{ ...rest, timeZone: timezone ?? "Europe/Istanbul" }, ...others]));
    const r = await billing([
      "simulate",
      "--accounts",
      file,
      "--tariffs",
      join(ex, "tariffs.json"),
      "--step",
      `ingest:${join(ex, "events.jsonl")}`,
      "--step",
      "close:2025-07",
      "--out",
      join(dir, "out"),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `${file}: entry 0 (${String(first?.accountId)}), field timeZone: unknown field "timeZone" (did you mean "timezone"?)`,
    );
    expect(r.stderr).not.toMatch(/starting local stack/);
  }, 120_000);

  it("exits non-zero on an empty accounts file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "billing-strict-"));
    const ex = join(root, "examples", "basic");
    const file = join(dir, "accounts.json");
    await writeFile(file, "[]\n");
    const r = await billing([
      "simulate",
      "--accounts",
      file,
      "--tariffs",
      join(ex, "tariffs.json"),
      "--step",
      "close:2025-07",
      "--out",
      join(dir, "out"),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${file}: (file): the file holds no accounts`);
  }, 120_000);
});

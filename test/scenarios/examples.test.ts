/**
 * Every scenario folder under examples/ (and the specification's ../shared/examples when present)
 * runs through the real `billing simulate` and is compared by the specification's own checker
 * (lines as a set, quantities and money as decimals, marketplace usage when expected).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..", "..");
const checker = resolve(root, "..", "shared", "tools", "check-scenario.py");
const folders = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "steps")))
        .map((d) => join(dir, d.name))
    : [];
const scenarios = [...folders(join(root, "examples")), ...folders(resolve(root, "..", "shared", "examples"))];

describe("scenarios through billing simulate", () => {
  it("finds the checker beside the project and the bundled scenarios", () => {
    expect(existsSync(checker), `${checker} (the specification folder beside the project)`).toBe(true);
    expect(scenarios.length).toBeGreaterThan(0);
  });
  it.each(scenarios)("%s", async (dir) => {
    const r = await run("python3", [checker, dir, root], { cwd: root }).catch(
      (e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? "", stderr: e.stderr ?? "" }),
    );
    const lastLine = r.stdout.trim().split("\n").at(-1) ?? "";
    expect(`${r.stdout}${r.stderr}`, r.stdout).toContain(": ok:");
    expect(lastLine).toMatch(/: ok:/);
  });
});

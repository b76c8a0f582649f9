/**
 * The closing line CI reads (test/support/summary-reporter.ts) counts tests, not files: a run of two
 * passing tests, one failing test and one file that fails to load says "2 passed, 1 failed", names
 * the broken file on a line of its own, and still exits non-zero.
 */
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..", "..");

it("counts failed tests, reports a file that fails to load separately, and exits non-zero", async () => {
  const r = await run(
    "node",
    [
      join(root, "node_modules", "vitest", "vitest.mjs"),
      "run",
      "--config",
      join(root, "test", "cli", "fixtures", "summary", "vitest.config.ts"),
    ],
    { cwd: root },
  ).then(
    (x) => ({ code: 0, ...x }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    }),
  );
  expect(r.stdout).toMatch(/^vitest: 2 passed, 1 failed$/m);
  expect(r.stdout).toMatch(
    /^vitest: 1 test file failed outside their tests: broken\.fixture\.ts \(this file fails to load on purpose\)$/m,
  );
  expect(r.code).not.toBe(0);
}, 60_000);

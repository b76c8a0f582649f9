/**
 * Prints the plain closing line CI reads after vitest's own summary: tests, not files.
 *   vitest: N passed, N failed[, N skipped]
 *   vitest: N test files failed outside their tests: FILE (first error), …   (only when some did)
 * A file that fails to load (or whose hooks fail) has no failed test to count: it gets its own line,
 * and vitest's exit code stays non-zero for it.
 */
import type { Reporter, SerializedError, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError> = [],
  ): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const brokenFiles: string[] = [];
    for (const m of testModules) {
      let failedHere = 0;
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === "passed") passed += 1;
        else if (state === "failed") failedHere += 1;
        else skipped += 1;
      }
      failed += failedHere;
      const errors = m.errors();
      if (errors.length > 0 || (m.state() === "failed" && failedHere === 0))
        brokenFiles.push(`${m.relativeModuleId}${errors[0] ? ` (${firstLine(errors[0].message)})` : ""}`);
    }
    let out = `\nvitest: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`;
    if (brokenFiles.length)
      out += `vitest: ${brokenFiles.length} test ${brokenFiles.length === 1 ? "file" : "files"} failed outside their tests: ${brokenFiles.join(", ")}\n`;
    if (unhandledErrors.length) out += `vitest: ${unhandledErrors.length} unhandled errors\n`;
    process.stdout.write(out);
  }
}

const firstLine = (s: string | undefined) => (s ?? "").split("\n")[0]?.slice(0, 200) ?? "";

/** Prints the plain closing line CI reads ("N passed, N failed") after vitest's own summary. */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of testModules)
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === "passed") passed += 1;
        else if (state === "failed") failed += 1;
        else skipped += 1;
      }
    const failedModules = testModules.filter((m) => m.state() === "failed").length;
    process.stdout.write(
      `\nvitest: ${passed} passed, ${failed + failedModules} failed${skipped ? `, ${skipped} skipped` : ""}\n`,
    );
  }
}

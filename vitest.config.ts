import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
    // Integration tests start DynamoDB Local (a JVM) each; two cores: keep parallelism modest.
    maxWorkers: 2,
    // No test may depend on the machine's speed (CI is a shared 2-core machine running three clones
    // at once): tests wait for conditions, never for a budget. These limits only stop a real hang.
    testTimeout: 30 * 60_000,
    hookTimeout: 30 * 60_000,
    // Tests run on Node 20 by design (Lambda runs nodejs22.x): the SDK's Node 22 notice is noise.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});

/**
 * cdk-nag (AwsSolutions and Serverless packs, as infra/app.ts applies them) finds nothing that is
 * not acknowledged with a reason on its resource; and the dev stage's settings. The stacks use a
 * fixture handler for every function (bundling the real ones is billing-stack.test.ts's job).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, type CfnElement, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BillingFunctionName, BillingStack, type Stage } from "../../infra/billing-stack.js";

const fixture = fileURLToPath(new URL("./fixtures/echo-handler.ts", import.meta.url));
const entries: Record<BillingFunctionName, string> = {
  ingestUsage: fixture,
  closeScheduler: fixture,
  closeWorker: fixture,
  marketplaceReporter: fixture,
  deadLetter: fixture,
  financeApi: fixture,
};
const context = (
  JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
    context: Record<string, unknown>;
  }
).context;

describe("cdk-nag and stages", () => {
  const dirs: string[] = [];
  const appWith = () => {
    const outdir = mkdtempSync(join(tmpdir(), "billing-nag-test-"));
    dirs.push(outdir);
    return new App({ context, outdir });
  };
  const stackIn = (app: App, stage: Stage) =>
    new BillingStack(app, "CpaasBilling", { marketplaceApiUrl: "https://marketplace.test", stage, entries });

  let devStack: BillingStack;
  let dev: Template;
  beforeAll(() => {
    devStack = stackIn(appWith(), "dev");
    dev = Template.fromStack(devStack);
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("AwsSolutions and Serverless packs: synth succeeds, every acknowledgement names its rule and a reason", () => {
    const app = appWith();
    const stack = stackIn(app, "prod");
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    // A finding without an acknowledgement interrupts synthesis with the report.
    expect(() => app.synth()).not.toThrow();

    const acknowledged: { path: string; id: string; reason: string }[] = [];
    for (const c of stack.node.findAll())
      for (const m of c.node.metadata)
        if (m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          for (const [id, reason] of Object.entries(m.data as Record<string, string>))
            acknowledged.push({ path: c.node.path, id, reason });
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const a of acknowledged) {
      expect(a.id, a.path).toMatch(/^(AwsSolutions|Serverless)::/);
      expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThan(30);
      // On the resource it concerns (or its construct), never on the stack or the app.
      expect(a.path).not.toBe(stack.node.path);
    }
  });

  it("dev: two weeks of logs, everything deletable, no deletion or termination protection", () => {
    const id = (c: IConstruct) => devStack.getLogicalId(c.node.defaultChild as CfnElement);
    const resources = dev.toJSON().Resources as Record<
      string,
      { Type: string; DeletionPolicy?: string; Properties: Record<string, unknown> }
    >;
    const table = resources[id(devStack.table)];
    expect(table?.DeletionPolicy).toBe("Delete");
    expect(table?.Properties.DeletionProtectionEnabled).toBe(false);
    for (const f of Object.values(devStack.functions)) {
      expect(resources[id(f.logGroup)]?.Properties.RetentionInDays).toBe(14);
      expect(resources[id(f.logGroup)]?.DeletionPolicy).toBe("Delete");
    }
    expect(devStack.terminationProtection).toBe(false);
  });
});

/**
 * cdk-nag (AwsSolutions and Serverless packs, as infra/app.ts applies them) finds nothing that is
 * not acknowledged with a reason on its resource, in either stage; and each stage's settings (issue
 * 25): the G5 TTL, the usage queue's retention, the exports bucket's versions and Object Lock, the
 * table's Backup plan, the alarms that page, tags on every taggable resource, the grants. The stacks
 * use a fixture handler for every function (bundling the real ones is billing-stack.test.ts's job).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { App, type CfnElement, CfnResource, type ITaggable, TagManager, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Alarm } from "aws-cdk-lib/aws-cloudwatch";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BillingFunctionName,
  BillingStack,
  NO_MARKETPLACE_API_URL,
  type Stage,
  type StageConfig,
  StageConfigError,
} from "../../infra/billing-stack.js";

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

const stages = context.stages as Record<Stage, StageConfig>;
/** prod as cdk.json has it, with a pager, two producer accounts and an alarm address given. */
const PROD: StageConfig = {
  ...stages.prod,
  alarmEmail: "billing-oncall@example.com",
  pagerUrl: "https://events.pagerduty.example/integration/abc/enqueue",
  producerAccountIds: ["111111111111", "222222222222"],
};
/** dev as cdk.json has it: no Metering API URL, no pager. */
const DEV: StageConfig = { ...stages.dev };

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

  it.each([
    ["prod", PROD],
    ["dev", DEV],
  ] as const)(
    "AwsSolutions and Serverless packs (%s): synth succeeds, every acknowledgement names its rule and a reason",
    (stage, config) => {
      const app = appWith();
      const stack = new BillingStack(app, `CpaasBilling-${stage}`, { stage, config, entries });
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
    },
  );

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

type Resource = { Type: string; DeletionPolicy?: string; Properties?: Record<string, unknown> };

describe.each([
  ["prod", PROD],
  ["dev", DEV],
] as const)("the %s stage", (stage, config) => {
  let outdir: string;
  let stack: BillingStack;
  let resources: Record<string, Resource>;
  const id = (c: IConstruct) => stack.getLogicalId((c.node.defaultChild ?? c) as CfnElement);
  const props = (c: IConstruct) => resources[id(c)]?.Properties ?? {};
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), `billing-stage-${stage}-`));
    stack = new BillingStack(new App({ context, outdir }), `CpaasBilling-${stage}`, {
      stage,
      config,
      entries,
    });
    resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("G5: the table expires identity claims and attempt records by their expiresAt", () => {
    expect(props(stack.table).TimeToLiveSpecification).toEqual({ AttributeName: "expiresAt", Enabled: true });
  });

  it("capacity: warm throughput in prod, a maximum on-demand throughput in both; ingest at 1,024 MB, 20 at once", () => {
    const table = props(stack.table);
    expect(table.OnDemandThroughput).toEqual(
      stage === "prod"
        ? { MaxReadRequestUnits: 40_000, MaxWriteRequestUnits: 40_000 }
        : { MaxReadRequestUnits: 2_000, MaxWriteRequestUnits: 1_000 },
    );
    expect(table.WarmThroughput).toEqual(
      stage === "prod" ? { ReadUnitsPerSecond: 20_000, WriteUnitsPerSecond: 30_000 } : undefined,
    );
    expect(props(stack.functions.ingestUsage.function).MemorySize).toBe(1024);
    const mapping = Object.values(resources).find(
      (r) =>
        r.Type === "AWS::Lambda::EventSourceMapping" &&
        JSON.stringify(r.Properties?.EventSourceArn).includes(id(stack.usageQueue)),
    );
    expect(mapping?.Properties?.ScalingConfig).toEqual({ MaximumConcurrency: 20 });
  });

  it("the usage queue keeps messages 14 days", () => {
    expect(props(stack.usageQueue).MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it("the exports bucket keeps every version under Object Lock; prod locks them 10 years (governance), dev stays deletable", () => {
    const bucket = props(stack.exportsBucket);
    expect(bucket.VersioningConfiguration).toEqual({ Status: "Enabled" });
    expect(bucket.ObjectLockEnabled).toBe(true);
    const autoDelete = Object.values(resources).filter((r) => r.Type === "Custom::S3AutoDeleteObjects");
    if (stage === "prod") {
      expect(bucket.ObjectLockConfiguration).toEqual({
        ObjectLockEnabled: "Enabled",
        Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 3653 } },
      });
      expect(resources[id(stack.exportsBucket)]?.DeletionPolicy).toBe("Retain");
      expect(autoDelete).toEqual([]);
    } else {
      // Nothing locked, so `cdk destroy` empties the bucket (every version) and deletes it.
      expect(bucket.ObjectLockConfiguration).toBeUndefined();
      expect(resources[id(stack.exportsBucket)]?.DeletionPolicy).toBe("Delete");
      expect(autoDelete.map((r) => r.Properties?.BucketName)).toContainEqual({
        Ref: id(stack.exportsBucket),
      });
    }
    // Older exports (and older versions) move to cheaper classes.
    const rules = (bucket.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toContainEqual(
      expect.objectContaining({
        Transitions: [
          { StorageClass: "STANDARD_IA", TransitionInDays: 90 },
          { StorageClass: "GLACIER_IR", TransitionInDays: 365 },
        ],
      }),
    );
    // Access is logged (server access logs to their own bucket).
    expect(bucket.LoggingConfiguration).toMatchObject({
      DestinationBucketName: { Ref: id(stack.accessLogsBucket) },
    });
  });

  it("AWS Backup backs the table up daily into a vault encrypted with the stack key", () => {
    const plan = props(stack.backupPlan).BackupPlan as { BackupPlanRule: Record<string, unknown>[] };
    expect(plan.BackupPlanRule).toEqual([
      expect.objectContaining({
        ScheduleExpression: "cron(0 3 * * ? *)",
        Lifecycle: { DeleteAfterDays: stage === "prod" ? 35 : 7 },
      }),
    ]);
    const selections = Object.values(resources).filter((r) => r.Type === "AWS::Backup::BackupSelection");
    expect(selections).toHaveLength(1);
    expect(JSON.stringify(selections[0]?.Properties)).toContain(id(stack.table));
    const [vault] = Object.values(resources).filter((r) => r.Type === "AWS::Backup::BackupVault");
    expect(vault?.Properties?.EncryptionKeyArn).toEqual({ "Fn::GetAtt": [id(stack.key), "Arn"] });
  });

  it("every alarm has an action; the finance API, throttling, heartbeat and duration alarms are there", () => {
    const alarms = stack.node.findAll().filter((c) => c instanceof Alarm);
    for (const a of alarms)
      expect(props(a).AlarmActions, a.node.path).toEqual([{ Ref: id(stack.monitoring.topic) }]);
    const names = new Set(alarms.map((a) => a.node.id));
    const asked = [
      "FinanceApi5xxAlarm",
      "FinanceApiErrorsAlarm",
      "TableThrottledAlarm",
      "CloseSchedulerHeartbeatAlarm",
      ...Object.values(stack.functions).map((f) => `${f.node.id}DurationAlarm`),
    ];
    for (const a of asked) expect(names.has(a), a).toBe(true);
    // dev reports to no Metering API: its schedule is off, so no heartbeat is expected of it.
    expect(names.has("MarketplaceReporterHeartbeatAlarm")).toBe(stage === "prod");
    expect(names.has("PagerUndeliveredAlarm")).toBe(stage === "prod");
  });

  it("alarms reach e-mail and, where given, the pager's HTTPS endpoint (undelivered pages kept)", () => {
    const subs = Object.values(resources)
      .filter((r) => r.Type === "AWS::SNS::Subscription")
      .map((r) => r.Properties ?? {});
    const topic = { Ref: id(stack.monitoring.topic) };
    if (stage === "prod") {
      expect(subs).toContainEqual(
        expect.objectContaining({ Protocol: "email", Endpoint: PROD.alarmEmail, TopicArn: topic }),
      );
      expect(subs).toContainEqual(
        expect.objectContaining({
          Protocol: "https",
          Endpoint: PROD.pagerUrl,
          TopicArn: topic,
          RedrivePolicy: {
            deadLetterTargetArn: { "Fn::GetAtt": [id(stack.monitoring.pagerDeadLetters!), "Arn"] },
          },
        }),
      );
    } else {
      expect(subs).toEqual([expect.objectContaining({ Protocol: "email", Endpoint: { Ref: "AlarmEmail" } })]);
    }
  });

  it("tags every taggable resource with its stage, service and cost centre", () => {
    const costCentre = config.costCentre;
    let checked = 0;
    for (const c of stack.node.findAll()) {
      if (!(c instanceof CfnResource)) continue;
      const provider =
        c.cfnResourceType === "AWS::Lambda::Function" || c.cfnResourceType === "AWS::IAM::Role";
      if (!TagManager.isTaggable(c) && !provider) continue;
      // The L1 property's name (`tags`, `backupPlanTags`, …) as CloudFormation spells it.
      const l1 = TagManager.isTaggable(c) ? (c as unknown as ITaggable).tags.tagPropertyName : "tags";
      const name = l1.charAt(0).toUpperCase() + l1.slice(1);
      const raw = resources[stack.getLogicalId(c)]?.Properties?.[name];
      const tags = Array.isArray(raw)
        ? Object.fromEntries((raw as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]))
        : (raw as Record<string, string> | undefined);
      expect(tags, `${c.node.path} (${c.cfnResourceType})`).toMatchObject({
        stage,
        service: "cpaas-billing",
        "cost-centre": costCentre,
      });
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  it("Metering API: prod reports to Microsoft's, dev to a name that never resolves, its schedule off", () => {
    const reporter = props(stack.functions.marketplaceReporter.function) as {
      Environment: { Variables: Record<string, unknown> };
    };
    const schedule = Object.values(resources).find(
      (r) => r.Type === "AWS::Scheduler::Schedule" && String(r.Properties?.Description).startsWith("Report"),
    );
    if (stage === "prod") {
      expect(reporter.Environment.Variables.MARKETPLACE_API_URL).toBe("https://marketplaceapi.microsoft.com");
      expect(schedule?.Properties?.State).toBe("ENABLED");
    } else {
      expect(reporter.Environment.Variables.MARKETPLACE_API_URL).toBe(NO_MARKETPLACE_API_URL);
      expect(schedule?.Properties?.State).toBe("DISABLED");
    }
  });

  it("grants: the finance API reaches no bucket; CloudWatch uses the key for this account only; producers may send", () => {
    const policies = Object.values(resources).filter((r) => r.Type === "AWS::IAM::Policy");
    const financeRole = id(stack.functions.financeApi.function.role!);
    const financeStatements = policies
      .filter((p) => JSON.stringify(p.Properties?.Roles) === JSON.stringify([{ Ref: financeRole }]))
      .flatMap((p) => (p.Properties!.PolicyDocument as { Statement: { Action: unknown }[] }).Statement);
    expect(financeStatements.length).toBeGreaterThan(0);
    expect(JSON.stringify(financeStatements)).not.toMatch(/"s3:|kms:ViaService.*s3\./);

    const keyPolicy = props(stack.key).KeyPolicy as { Statement: Record<string, unknown>[] };
    // (Statements with the same actions and conditions are merged: CloudWatch's may name SNS too.)
    const cloudwatch = keyPolicy.Statement.find((st) =>
      [(st.Principal as { Service?: unknown } | undefined)?.Service]
        .flat()
        .includes("cloudwatch.amazonaws.com"),
    );
    expect(cloudwatch?.Condition).toEqual({
      StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
    });

    const producers = keyPolicy.Statement.find((st) => JSON.stringify(st.Principal).includes(":iam::1111"));
    const queuePolicies = Object.values(resources)
      .filter((r) => r.Type === "AWS::SQS::QueuePolicy")
      .flatMap((r) => (r.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
    const send = queuePolicies.find((st) => JSON.stringify(st.Principal).includes(":iam::1111"));
    if (stage === "prod") {
      const principals = PROD.producerAccountIds!.map((a) => ({
        "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:iam::${a}:root`]],
      }));
      expect(producers).toMatchObject({
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Principal: { AWS: principals },
        Condition: {
          StringEquals: {
            "kms:ViaService": { "Fn::Join": ["", ["sqs.", { Ref: "AWS::Region" }, ".amazonaws.com"]] },
          },
        },
      });
      expect(send).toMatchObject({
        Action: "sqs:SendMessage",
        Effect: "Allow",
        Principal: { AWS: principals },
        Resource: { "Fn::GetAtt": [id(stack.usageQueue), "Arn"] },
      });
    } else {
      expect(producers).toBeUndefined();
      expect(send).toBeUndefined();
    }
  });
});

describe("stage values", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const build = (stage: Stage, config: StageConfig) => () => {
    const outdir = mkdtempSync(join(tmpdir(), "billing-stage-values-"));
    dirs.push(outdir);
    return new BillingStack(new App({ context, outdir }), "S", { stage, config, entries });
  };
  it("refuses a bad producer account, a pager that is not HTTPS, and a locked bucket in a stage that is destroyed", () => {
    expect(build("prod", { producerAccountIds: ["12345"] })).toThrow(StageConfigError);
    expect(build("prod", { pagerUrl: "http://pager.example" })).toThrow(/https/);
    expect(build("dev", { exportsLockDays: 30 })).toThrow(/cannot lock its exports/);
  });
});

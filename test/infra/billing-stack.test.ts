import { readFileSync } from "node:fs";
import { App, type CfnElement } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import type { SQSEvent } from "aws-lambda";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { createIngestHandler, IngestBatchFailedError } from "../../functions/ingest-usage/handler.js";
import {
  BillingStack,
  CLOSE_MAX_CONCURRENCY,
  DEFAULT_ENTRIES,
  INGEST_MAX_CONCURRENCY,
} from "../../infra/billing-stack.js";
import { MARKETPLACE_PENDING_ALARM_HOURS, USAGE_AGE_ALARM } from "../../infra/constructs/monitoring.js";
import { USAGE_FOLD_ACCESS, UsageFold } from "../../infra/constructs/usage-fold.js";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { parseAccounts, parseTariffs } from "../../shared/core/config.js";
import { systemClock } from "../../shared/ports/clock.js";
import {
  INGEST_UNEXPECTED_ERRORS_METRIC,
  METRIC,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
} from "../../shared/runtime/observability.js";
import { dynamoClient, storeDeps } from "../../shared/runtime/wiring.js";
import { captureOutput, emfDocuments } from "../support/capture-output.js";
import { deniesNonTls, expectTlsOnlyQueue, useOutdir } from "../support/cdk.js";

// The real handlers are bundled by esbuild at synth, so this also proves each one bundles.
const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
  app: string;
  context: Record<string, unknown>;
};

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}
type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

describe("BillingStack", () => {
  const outdir = useOutdir("billing-stack-test-");
  let stack: BillingStack;
  let template: Template;
  let resources: Record<string, Resource>;

  const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  const arnOf = (c: IConstruct) => ({ "Fn::GetAtt": [id(c), "Arn"] });
  const resourceOf = (c: IConstruct): Resource => {
    const r = resources[id(c)];
    if (!r) throw new Error(`no resource for ${c.node.path}`);
    return r;
  };
  const propsOf = (c: IConstruct) => resourceOf(c).Properties;

  /** All statements of the policies attached to a function's execution role. */
  const keysOf = (...k: string[]) => ({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": k } });
  const statementsOf = (name: keyof BillingStack["functions"]): Statement[] => {
    const role = id(stack.functions[name].function.role!);
    return Object.values(template.findResources("AWS::IAM::Policy"))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  };
  const allows = (statements: Statement[], action: string, resource: unknown) =>
    statements.some(
      (s) =>
        s.Effect === "Allow" &&
        [s.Action].flat().includes(action) &&
        [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(resource)),
    );

  beforeAll(() => {
    const app = new App({ context: cdkJson.context, outdir: outdir() });
    stack = new BillingStack(app, "CpaasBilling", {
      marketplaceApiUrl: "https://marketplaceapi.microsoft.com",
      stage: "prod",
    });
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources as Record<string, Resource>;
  });

  it("is run by cdk.json and defaults to the real handler files", () => {
    expect(cdkJson.app).toBe("npx tsx infra/app.ts");
    expect(DEFAULT_ENTRIES.ingestUsage).toMatch(/functions\/ingest-usage\/handler\.ts$/);
    expect(DEFAULT_ENTRIES.closeScheduler).toMatch(/functions\/close-scheduler\/handler\.ts$/);
    expect(DEFAULT_ENTRIES.closeWorker).toMatch(/functions\/close-worker\/handler\.ts$/);
    expect(DEFAULT_ENTRIES.marketplaceReporter).toMatch(/functions\/marketplace-reporter\/handler\.ts$/);
    expect(DEFAULT_ENTRIES.deadLetter).toMatch(/functions\/dead-letter\/handler\.ts$/);
    expect(DEFAULT_ENTRIES.financeApi).toMatch(/functions\/finance-api\/handler\.ts$/);
  });

  it("creates seven arm64 nodejs22.x functions with active tracing, encrypted env and a retained, encrypted log group (prod: a year)", () => {
    // The six of `functions` and the usage fold (constructs/usage-fold.ts).
    template.resourceCountIs("AWS::Lambda::Function", 7);
    for (const f of Object.values(stack.functions)) {
      const props = propsOf(f.function);
      expect(props).toMatchObject({
        Architectures: ["arm64"],
        Runtime: "nodejs22.x",
        TracingConfig: { Mode: "Active" },
        KmsKeyArn: arnOf(stack.key),
        LoggingConfig: { LogGroup: { Ref: id(f.logGroup) } },
      });
      const logGroup = resourceOf(f.logGroup);
      expect(logGroup.Type).toBe("AWS::Logs::LogGroup");
      expect(logGroup.Properties.RetentionInDays).toBe(365);
      expect(logGroup.Properties.KmsKeyId).toEqual(arnOf(stack.key));
      expect(logGroup.DeletionPolicy).toBe("Retain");
    }
  });

  it("gives every function the table and queue variables, and the reporter the marketplace URL", () => {
    for (const f of Object.values(stack.functions)) {
      const vars = (propsOf(f.function).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(vars).toMatchObject({
        BILLING_TABLE: { Ref: id(stack.table) },
        USAGE_QUEUE_URL: { Ref: id(stack.usageQueue) },
        USAGE_DLQ_URL: { Ref: id(stack.usageDlq) },
      });
      // The Powertools Logger's service name and level (read by the ingest handler's logger).
      expect(vars).toMatchObject({ POWERTOOLS_SERVICE_NAME: "cpaas-billing", LOG_LEVEL: "INFO" });
      expect("MARKETPLACE_API_URL" in vars).toBe(f === stack.functions.marketplaceReporter);
    }
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: { MARKETPLACE_API_URL: "https://marketplaceapi.microsoft.com" } },
    });
  });

  it("feeds ingest from the usage queue in batches of 100 with partial batch responses", () => {
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: arnOf(stack.usageQueue),
      FunctionName: { Ref: id(stack.functions.ingestUsage.function) },
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: Match.anyValue(),
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: INGEST_MAX_CONCURRENCY },
    });
  });

  it("encrypts the usage queue with KMS, redrives to the DLQ after 5 receives, and waits 6x the ingest timeout", () => {
    template.hasResourceProperties("AWS::SQS::Queue", {
      KmsMasterKeyId: arnOf(stack.key),
      RedrivePolicy: { deadLetterTargetArn: arnOf(stack.usageDlq), maxReceiveCount: 5 },
    });
    const visibility = propsOf(stack.usageQueue).VisibilityTimeout as number;
    const ingestTimeout = propsOf(stack.functions.ingestUsage.function).Timeout as number;
    expect(visibility).toBeGreaterThanOrEqual(6 * ingestTimeout);
    expect(propsOf(stack.usageDlq).KmsMasterKeyId).toEqual(arnOf(stack.key));
  });

  it("encrypts every queue with the stack key and denies non-TLS access to each", () => {
    const queues = template.findResources("AWS::SQS::Queue");
    // usage, close, their DLQs, schedule DLQ, one failure queue per function (the usage fold's too)
    expect(Object.keys(queues)).toHaveLength(12);
    for (const [queueId, q] of Object.entries(queues)) {
      expect(q.Properties.KmsMasterKeyId).toEqual(arnOf(stack.key));
      expectTlsOnlyQueue(template, queueId);
    }
  });

  it("keeps the table on demand with pk/sk, PITR, KMS SSE with the stack key, the G5 TTL, and retained", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      Properties: {
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: arnOf(stack.key) },
        // G5: identity claims and attempt records expire (only they carry the attribute).
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
      },
    });
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
  });

  it("has no wildcard actions, no wildcard DynamoDB access, and '*' resources only for X-Ray", () => {
    const statements = Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Statement[],
    );
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) {
      const actions = [s.Action].flat();
      expect(actions).not.toContain("*");
      for (const a of actions) expect(a).not.toMatch(/^[a-z0-9-]+:\*$/);
      if ([s.Resource].flat().includes("*")) {
        expect(actions.every((a) => a === "xray:PutTraceSegments" || a === "xray:PutTelemetryRecords")).toBe(
          true,
        );
      }
      if (actions.some((a) => a.startsWith("dynamodb:"))) {
        expect([s.Resource].flat()).toEqual([arnOf(stack.table)]);
      }
    }
  });

  it("grants each function exactly its actions: DynamoDB per key prefix, KMS only through the service", () => {
    const region = { Ref: "AWS::Region" };
    const via = (service: string) => ({
      StringEquals: { "kms:ViaService": { "Fn::Join": ["", [`${service}.`, region, ".amazonaws.com"]] } },
    });
    const keys = (...k: string[]) => ({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": k } });
    type Grant = [actions: string[], resource: unknown, condition?: unknown];
    const table = arnOf(stack.table);
    const key = arnOf(stack.key);
    const objectsUnder = (prefix: string) => ({
      "Fn::Join": ["", [arnOf(stack.exportsBucket), `/${prefix}*`]],
    });
    const objects = objectsUnder("dead-letters/");
    const tableKey = (write: boolean): Grant => [
      write
        ? ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
        : ["kms:Decrypt", "kms:DescribeKey"],
      key,
      via("dynamodb"),
    ];
    const consume = (queue: IConstruct): Grant[] => [
      [
        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
        arnOf(queue),
      ],
      [["kms:Decrypt"], key, via("sqs")],
    ];
    // Every function: X-Ray, its own log group, its own failure queue (through SQS only).
    const common = (name: keyof BillingStack["functions"]): Grant[] => [
      [["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"],
      [["logs:CreateLogStream", "logs:PutLogEvents"], arnOf(stack.functions[name].logGroup)],
      [["sqs:SendMessage"], arnOf(stack.functions[name].failureQueue)],
      [["kms:Decrypt", "kms:GenerateDataKey"], key, via("sqs")],
    ];
    // The Entra ID credentials: read by the reporter only (their key is granted in the key policy).
    const [secretId] = Object.keys(template.findResources("AWS::SecretsManager::Secret"));
    // The usage fold's rows: the close worker and the reporter fold their accounts' journals too.
    const foldRows: Grant[] = USAGE_FOLD_ACCESS.map((r) => [[...r.actions], table, keys(...r.leadingKeys)]);
    // One row per function: add a row with a new function.
    const expected: Record<keyof BillingStack["functions"], Grant[]> = {
      ingestUsage: [
        [["dynamodb:PartiQLInsert"], table, keys("ID#*", "CONFLICTS#*", "ACCT#*")],
        [["dynamodb:BatchGetItem"], table, keys("ID#*")],
        // Ingest writes journals and commits: no counter, page or unclosed-usage entry (the fold's).
        [["dynamodb:UpdateItem"], table, keys("ID#*", "ACCT#*")],
        [["dynamodb:GetItem"], table, keys("COMMIT#*", "BILL#*", "CFG#*", "DEADLETTER#*")],
        [["dynamodb:Query"], table, keys("CFG#*")],
        [["dynamodb:PutItem"], table, keys("COMMIT#*", "JRNL#*", "DEADLETTER#*", "DLA#*", "DLS#*")],
        [["dynamodb:DeleteItem"], table, keys("DLA#*", "DLS#*")],
        [["dynamodb:PutItem"], table, keys("LATECF#*")],
        tableKey(true),
        ...consume(stack.usageQueue),
        [["s3:PutObject"], objects],
        [["kms:GenerateDataKey"], key, via("s3")],
      ],
      closeScheduler: [
        [["dynamodb:Query"], table, keys("CFG#*", "PERIOD#*", "BILL#*", "UNCLOSED#*")],
        [["dynamodb:GetItem", "dynamodb:PutItem"], table, keys("SCHED#*")],
        [["dynamodb:GetItem"], table, keys("BILL#*")],
        [["dynamodb:UpdateItem"], table, keys("PERIOD#*")],
        tableKey(true),
        [["sqs:SendMessage"], arnOf(stack.closeQueue)],
        // Manifests by period, and the objects of an account missing them.
        [["s3:PutObject"], objectsUnder("invoice-lines/")],
        [["s3:PutObject"], objectsUnder("close-reports/")],
        [["kms:GenerateDataKey", "kms:Decrypt"], key, via("s3")],
      ],
      closeWorker: [
        ...foldRows,
        [
          ["dynamodb:Query"],
          table,
          keys("ACCT#*", "BILL#*", "CTR#*", "EVT#*", "DLA#*", "DLS#*", "CONFLICTS#*", "REPORT#*", "SNAP#*"),
        ],
        [["dynamodb:GetItem"], table, keys("BILL#*", "CFG#*")],
        // Ingest cannot write BILL# (close records, lines): only the close worker can.
        [["dynamodb:PutItem"], table, keys("BILL#*", "REPORT#*", "SNAP#*")],
        [["dynamodb:DeleteItem"], table, keys("ACCT#*", "BILL#*", "REPORT#*", "SNAP#*")],
        [["dynamodb:UpdateItem"], table, keys("ACCT#*", "BILL#*")],
        [["dynamodb:ConditionCheckItem"], table, keys("BILL#*")],
        [["dynamodb:PutItem"], table, keys("EXPL#*")],
        [["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], table, keys("PERIOD#*")],
        [["dynamodb:Query"], table, keys("CFG#*", "LATECF#*")],
        [["dynamodb:DeleteItem"], table, keys("LATECF#*", "UNCLOSED#*")],
        [["dynamodb:UpdateItem"], table, keys("UNCLOSED#*")],
        tableKey(true),
        ...consume(stack.closeQueue),
        // Exports by period: objects under these two prefixes only, multipart past 5 MB.
        [["s3:PutObject"], objectsUnder("invoice-lines/")],
        [["s3:PutObject"], objectsUnder("close-reports/")],
        [["kms:GenerateDataKey", "kms:Decrypt"], key, via("s3")],
      ],
      marketplaceReporter: [
        ...foldRows,
        [["dynamodb:Query"], table, keys("CFG#*", "ACCT#*", "EVT#*", "SNAP#*", "MKT#*")],
        [["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], table, keys("MKT#*")],
        tableKey(true),
        [["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], { Ref: secretId }],
      ],
      deadLetter: [
        [["dynamodb:Query", "dynamodb:GetItem"], table, keys("DEADLETTER", "DEADLETTER#*")],
        [["dynamodb:PutItem"], table, keys("DEADLETTER#*")],
        [["dynamodb:DeleteItem"], table, keys("DEADLETTER", "DEADLETTER#*", "DLA#*", "DLS#*")],
        tableKey(true),
        [["sqs:SendMessage", "sqs:GetQueueAttributes"], arnOf(stack.usageQueue)],
        [["kms:Decrypt", "kms:GenerateDataKey"], key, via("sqs")],
        ...consume(stack.usageDlq),
        [["s3:GetObject"], objects],
        [["kms:Decrypt"], key, via("s3")],
      ],
      // Read only: no write action, no queue, no bucket (its lines and reports are read from the table).
      financeApi: [
        [
          ["dynamodb:Query"],
          table,
          keys("CFG#*", "PERIOD#*", "ACCT#*", "BILL#*", "CTR#*", "EVT#*", "SNAP#*"),
        ],
        [["dynamodb:GetItem"], table, keys("BILL#*", "EXPL#*", "PERIOD#*")],
        tableKey(false),
      ],
    };
    const flatten = (grants: { actions: string[]; resources: unknown[]; condition?: unknown }[]) =>
      [
        ...new Set(
          grants.flatMap((g) =>
            g.actions.flatMap((a) => g.resources.map((r) => JSON.stringify([a, r, g.condition ?? null]))),
          ),
        ),
      ].sort();
    expect(Object.keys(expected).sort()).toEqual(Object.keys(stack.functions).sort());
    for (const [name, grants] of Object.entries(expected) as [keyof BillingStack["functions"], Grant[]][]) {
      const actual = statementsOf(name).map((st) => {
        expect(st.Effect).toBe("Allow");
        return {
          actions: [st.Action].flat(),
          resources: [st.Resource].flat(),
          condition: (st as Statement & { Condition?: unknown }).Condition,
        };
      });
      const want = [...grants, ...common(name)].map(([actions, resource, condition]) => ({
        actions,
        resources: [resource],
        condition,
      }));
      expect(flatten(actual), name).toEqual(flatten(want));
    }
  });

  it("ticks the usage fold every minute with its cadence (five minutes, 100,000 events): its function, its grants (the fold's rows and account lookups) and its alarm", () => {
    const fold = stack.node.findAll().find((c) => c instanceof UsageFold) as UsageFold;
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      Target: Match.objectLike({ Arn: arnOf(fold.fold.function), Input: "{}" }),
    });
    expect(propsOf(fold.fold.function)).toMatchObject({
      Architectures: ["arm64"],
      Runtime: "nodejs22.x",
      MemorySize: 1024,
    });
    expect(JSON.stringify(propsOf(fold.fold.function).Environment)).toContain(
      '"INGEST_TIMEOUT_SECONDS":"30"',
    );
    // Its cadence: a shard folded once its last run is five minutes old, or 100,000 events wait.
    expect((propsOf(fold.fold.function).Environment as { Variables: unknown }).Variables).toMatchObject({
      FOLD_MAX_LAG_SECONDS: "300",
      FOLD_VOLUME_EVENTS: "100000",
    });
    const policies = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(id(fold.fold.function.role!)),
    );
    const dynamo = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .filter((st) => [st.Action].flat().some((a) => String(a).startsWith("dynamodb:")))
      .map((st) => JSON.stringify([[st.Action].flat().sort(), (st as { Condition?: unknown }).Condition]))
      .sort();
    expect(dynamo).toEqual(
      [...USAGE_FOLD_ACCESS, { actions: ["dynamodb:GetItem", "dynamodb:Query"], leadingKeys: ["CFG#*"] }]
        .map((r) => JSON.stringify([[...r.actions].sort(), keysOf(...r.leadingKeys)]))
        .sort(),
    );
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: id(fold.fold.function) } }],
    });
  });

  it("schedules the close scheduler and the reporter hourly", () => {
    template.resourceCountIs("AWS::Scheduler::Schedule", 3);
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(1 hour)",
      State: "ENABLED",
      Target: Match.objectLike({ Arn: arnOf(stack.functions.closeScheduler.function), Input: "{}" }),
    });
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(1 hour)",
      State: "ENABLED",
      Target: Match.objectLike({ Arn: arnOf(stack.functions.marketplaceReporter.function) }),
    });
  });

  it("fans the close out: an encrypted close queue with a DLQ, the worker on it with partial batch failures and bounded concurrency", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: arnOf(stack.closeQueue),
      FunctionName: { Ref: id(stack.functions.closeWorker.function) },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: CLOSE_MAX_CONCURRENCY },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    const close = propsOf(stack.closeQueue);
    expect(close.KmsMasterKeyId).toEqual(arnOf(stack.key));
    expect(close.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(stack.closeDlq), maxReceiveCount: 5 });
    const workerTimeout = propsOf(stack.functions.closeWorker.function).Timeout as number;
    expect(close.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * workerTimeout);
    // Retries outlast a crashed run's claim lease (20 minutes) before a request reaches the DLQ.
    expect(((close.VisibilityTimeout as number) * 5) / 60).toBeGreaterThan(20);
    expect(propsOf(stack.closeDlq).KmsMasterKeyId).toEqual(arnOf(stack.key));
    // The scheduler sends, the worker consumes; neither does the other's part.
    const queue = arnOf(stack.closeQueue);
    expect(allows(statementsOf("closeScheduler"), "sqs:SendMessage", queue)).toBe(true);
    expect(allows(statementsOf("closeScheduler"), "sqs:ReceiveMessage", queue)).toBe(false);
    expect(allows(statementsOf("closeWorker"), "sqs:ReceiveMessage", queue)).toBe(true);
    expect(allows(statementsOf("closeWorker"), "sqs:SendMessage", queue)).toBe(false);
    for (const name of ["ingestUsage", "marketplaceReporter", "deadLetter"] as const)
      expect(JSON.stringify(statementsOf(name))).not.toContain(id(stack.closeQueue));
    const vars = (
      propsOf(stack.functions.closeScheduler.function).Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(vars).toMatchObject({ CLOSE_QUEUE_URL: { Ref: id(stack.closeQueue) }, CLOSE_GRACE_HOURS: "2" });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [id(stack.closeDlq), "QueueName"] } }],
      Threshold: 0,
    });
    template.hasOutput("CloseQueueUrl", { Value: { Ref: id(stack.closeQueue) } });
  });

  it("sends failed scheduled runs to each function's failure queue", () => {
    for (const f of Object.values(stack.functions)) {
      template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
        FunctionName: { Ref: id(f.function) },
        DestinationConfig: { OnFailure: { Destination: arnOf(f.failureQueue) } },
      });
    }
  });

  it("alarms on a non-empty DLQ, on ingest's unexpected-error metric and on ingest function errors", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [id(stack.usageDlq), "QueueName"] } }],
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: METRICS_NAMESPACE,
      MetricName: INGEST_UNEXPECTED_ERRORS_METRIC,
      Dimensions: Object.entries(METRIC_DIMENSIONS).map(([Name, Value]) => ({ Name, Value })),
      Statistic: "Sum",
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: id(stack.functions.ingestUsage.function) } }],
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
    });
  });

  it("the ingest-errors alarm watches exactly the metric the handler emits (namespace, name, dimensions)", async () => {
    // The real handler and the real DynamoDB adapter, whose endpoint refuses connections: an
    // unexpected storage failure, as a throttled or unreachable table gives.
    const tariffs = parseTariffs([
      {
        tariffId: "std",
        currency: "EUR",
        versions: [{ publishedAt: "2024-12-01T00:00:00Z", effectiveFrom: "2025-01-01T00:00:00Z", rates: [] }],
      },
    ]);
    const accounts = parseAccounts(
      [{ accountId: "acme", name: "Acme", currency: "EUR", tariffId: "std" }],
      tariffs,
    );
    const unreachable = new DynamoBillingStore(
      dynamoClient({ region: "us-east-1", dynamodbEndpoint: "http://127.0.0.1:9" }),
      "billing",
    );
    const handler = createIngestHandler({
      ...storeDeps(unreachable, systemClock, async () => ({ accounts, tariffs })),
    });
    const body = JSON.stringify({
      specversion: "1.0",
      id: "e1",
      source: "/gw",
      type: "sms.mt",
      subject: "acme",
      time: "2025-07-02T09:00:00Z",
      data: { to: "1", country: "TR", status: "submitted" },
    });
    const run = await captureOutput(() => handler({ Records: [{ messageId: "m1", body }] } as SQSEvent));
    expect(run.error).toBeInstanceOf(IngestBatchFailedError); // its only record failed: the batch fails
    const [emf] = emfDocuments(run.stdout);
    const directive = emf?._aws.CloudWatchMetrics[0];
    const metric = directive?.Metrics[0];
    expect(metric?.Name).toBe(INGEST_UNEXPECTED_ERRORS_METRIC);
    expect(emf?.[metric?.Name ?? ""]).toBe(1);

    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).filter(
      (a) => a.Properties.MetricName === metric?.Name,
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties.Namespace).toBe(directive?.Namespace);
    // CloudWatch matches a metric on its full dimension set: exactly the emitted one, with its values.
    expect(alarms[0]?.Properties.Dimensions).toEqual(
      (directive?.Dimensions[0] ?? []).map((Name) => ({ Name, Value: emf?.[Name] })),
    );
  });

  it("outputs the table name and the queue URLs", () => {
    template.hasOutput("BillingTableName", { Value: { Ref: id(stack.table) } });
    template.hasOutput("UsageQueueUrl", { Value: { Ref: id(stack.usageQueue) } });
    template.hasOutput("UsageDeadLetterQueueUrl", { Value: { Ref: id(stack.usageDlq) } });
  });

  it("keeps an exports bucket: KMS with the stack key, public access blocked, TLS only, retained", () => {
    template.hasResource("AWS::S3::Bucket", {
      DeletionPolicy: "Retain",
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            Match.objectLike({
              ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: arnOf(stack.key) },
            }),
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: id(stack.exportsBucket) },
      PolicyDocument: deniesNonTls(),
    });
    template.hasOutput("ExportsBucketName", { Value: { Ref: id(stack.exportsBucket) } });
  });

  it("lets ingest write dead letters' bodies and the dead-letter function read them, the close worker write only its exports by period", () => {
    const objects = { "Fn::Join": ["", [arnOf(stack.exportsBucket), "/dead-letters/*"]] };
    const bucketVar = (name: keyof BillingStack["functions"]) =>
      (propsOf(stack.functions[name].function).Environment as { Variables: Record<string, unknown> })
        .Variables.EXPORTS_BUCKET;
    expect(allows(statementsOf("ingestUsage"), "s3:PutObject", objects)).toBe(true);
    expect(allows(statementsOf("deadLetter"), "s3:GetObject", objects)).toBe(true);
    expect(allows(statementsOf("deadLetter"), "s3:PutObject", objects)).toBe(false);
    for (const name of ["marketplaceReporter", "financeApi"] as const) {
      expect(JSON.stringify(statementsOf(name))).not.toContain(id(stack.exportsBucket));
      expect(bucketVar(name)).toBeUndefined();
    }
    // The close worker: PutObject under invoice-lines/ and close-reports/, nothing else of the bucket.
    const under = (prefix: string) => ({ "Fn::Join": ["", [arnOf(stack.exportsBucket), `/${prefix}*`]] });
    expect(allows(statementsOf("closeWorker"), "s3:PutObject", under("invoice-lines/"))).toBe(true);
    expect(allows(statementsOf("closeWorker"), "s3:PutObject", under("close-reports/"))).toBe(true);
    expect(allows(statementsOf("closeWorker"), "s3:PutObject", objects)).toBe(false);
    expect(allows(statementsOf("closeWorker"), "s3:GetObject", under("invoice-lines/"))).toBe(false);
    expect(bucketVar("closeWorker")).toEqual({ Ref: id(stack.exportsBucket) });
    // The close scheduler keeps the manifests by period current: the same two prefixes, no read.
    expect(allows(statementsOf("closeScheduler"), "s3:PutObject", under("invoice-lines/"))).toBe(true);
    expect(allows(statementsOf("closeScheduler"), "s3:PutObject", objects)).toBe(false);
    expect(allows(statementsOf("closeScheduler"), "s3:GetObject", under("invoice-lines/"))).toBe(false);
    expect(bucketVar("closeScheduler")).toEqual({ Ref: id(stack.exportsBucket) });
    template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: "Enabled" }),
        ]),
      },
    });
    expect(bucketVar("ingestUsage")).toEqual({ Ref: id(stack.exportsBucket) });
    expect(bucketVar("deadLetter")).toEqual({ Ref: id(stack.exportsBucket) });
  });

  it("sends every alarm of the stack to the encrypted alarm topic, which mails the AlarmEmail parameter", () => {
    const topic = { Ref: id(stack.monitoring.topic) };
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm"));
    expect(alarms.length).toBeGreaterThanOrEqual(14);
    // OK transitions only where they help (test/infra/alarms.test.ts pins which).
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([topic]);
      expect([undefined, [topic]]).toContainEqual(a.Properties.OKActions);
    }
    expect(propsOf(stack.monitoring.topic).KmsMasterKeyId).toEqual(arnOf(stack.key));
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      TopicArn: topic,
      Endpoint: { Ref: "AlarmEmail" },
    });
    template.hasParameter("AlarmEmail", { Type: "String" });
    // CloudWatch may use the key to publish to the encrypted topic.
    template.hasResourceProperties("AWS::KMS::Key", {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
          }),
        ]),
      },
    });
  });

  it("alarms on the oldest usage message, every function's throttles, the schedule DLQ, unclosed accounts and marketplace rejections and pending age", () => {
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    const find = (metricName: string, extra: Record<string, unknown> = {}) =>
      alarms.filter(
        (a) =>
          a.MetricName === metricName &&
          Object.entries(extra).every(([k, v]) => JSON.stringify(a[k]) === JSON.stringify(v)),
      );
    expect(
      find("ApproximateAgeOfOldestMessage", {
        Namespace: "AWS/SQS",
        Threshold: USAGE_AGE_ALARM.toSeconds(),
        Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [id(stack.usageQueue), "QueueName"] } }],
      }),
    ).toHaveLength(1);
    for (const f of Object.values(stack.functions))
      expect(
        find("Throttles", {
          Namespace: "AWS/Lambda",
          Threshold: 0,
          Dimensions: [{ Name: "FunctionName", Value: { Ref: id(f.function) } }],
        }),
      ).toHaveLength(1);
    expect(
      find("ApproximateNumberOfMessagesVisible", {
        Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [id(stack.scheduleDlq), "QueueName"] } }],
        Threshold: 0,
      }),
    ).toHaveLength(1);
    const dimensions = Object.entries(METRIC_DIMENSIONS).map(([Name, Value]) => ({ Name, Value }));
    for (const [name, threshold] of [
      [METRIC.closeAccountsNotClosed, 0],
      [METRIC.marketplaceRejected, 0],
      [METRIC.marketplaceOldestPendingHours, MARKETPLACE_PENDING_ALARM_HOURS],
    ] as const)
      expect(
        find(name, { Namespace: METRICS_NAMESPACE, Dimensions: dimensions, Threshold: threshold }),
      ).toHaveLength(1);
  });

  it("has a dashboard over the ingest, close and marketplace metrics and the queue", () => {
    const body = JSON.stringify(Object.values(template.findResources("AWS::CloudWatch::Dashboard"))[0]);
    for (const name of [
      ...Object.values(METRIC),
      INGEST_UNEXPECTED_ERRORS_METRIC,
      "ApproximateAgeOfOldestMessage",
    ])
      expect(body).toContain(name);
  });

  it("retries each schedule 3 times within an hour, then dead-letters it to the encrypted schedule DLQ, with its own role", () => {
    const schedules = Object.values(template.findResources("AWS::Scheduler::Schedule"));
    expect(schedules).toHaveLength(3);
    const roles = new Set<string>();
    for (const sch of schedules) {
      expect(sch.Properties.Target).toMatchObject({
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: arnOf(stack.scheduleDlq) },
      });
      roles.add(JSON.stringify(sch.Properties.Target.RoleArn));
    }
    expect(roles.size).toBe(3);
    expect(propsOf(stack.scheduleDlq).KmsMasterKeyId).toEqual(arnOf(stack.key));
  });

  it("runs the marketplace reporter at most once at a time; the others without reserved concurrency", () => {
    for (const [name, f] of Object.entries(stack.functions))
      expect(propsOf(f.function).ReservedConcurrentExecutions).toBe(
        name === "marketplaceReporter" ? 1 : undefined,
      );
  });

  it("prod: deletion protection on the table, termination protection on the stack", () => {
    expect(propsOf(stack.table).DeletionProtectionEnabled).toBe(true);
    expect(stack.terminationProtection).toBe(true);
  });

  it("synthesizes without warnings or errors", () => {
    Annotations.fromStack(stack).hasNoWarning("*", Match.anyValue());
    Annotations.fromStack(stack).hasNoError("*", Match.anyValue());
  });
});

/**
 * Grants proven against real requests (issue 12): each function's own Lambda wiring
 * (the `…Deps` its handler builds) runs its real code paths on DynamoDB Local through a client whose
 * middleware records every request: the IAM action it needs and the partition key of every item it
 * touches. Each recorded (action, key) must be allowed by that function's rows in TABLE_ACCESS
 * (infra/billing-stack.ts, `dynamodb:LeadingKeys` StringLike patterns), as IAM would decide; and
 * every granted (action, prefix) must be used by some request, so a grant nothing needs fails too.
 */
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSchedulerDeps, createCloseSchedulerHandler } from "../../functions/close-scheduler/handler.js";
import { closeWorkerDeps, createCloseWorkerHandler } from "../../functions/close-worker/handler.js";
import { createDeadLetterHandler, deadLetterDeps } from "../../functions/dead-letter/handler.js";
import { createFinanceApiHandler, financeApiDeps } from "../../functions/finance-api/handler.js";
import { createIngestHandler, ingestDeps } from "../../functions/ingest-usage/handler.js";
import {
  createMarketplaceReporterHandler,
  marketplaceReporterDeps,
} from "../../functions/marketplace-reporter/handler.js";
import { type BillingFunctionName, TABLE_ACCESS } from "../../infra/billing-stack.js";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { httpApiEvent } from "../../local/finance-api-server.js";
import { LocalMeteringApi, meteringResourcesOf } from "../../local/metering-api.js";
import {
  legacyDeadLetterItem,
  letterIndexItem,
  letterIndexPk,
} from "../../shared/adapters/dynamodb/items/dead-letters.js";
import { parseAccounts, parseTariffs } from "../../shared/core/config.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";
import { mixedTariffVersion } from "../support/mixed-tariff.js";

interface Touch {
  readonly action: string;
  readonly pk: string;
}

const str = (v: unknown): string =>
  typeof v === "string" ? v : v && typeof v === "object" && "S" in v ? String(v.S) : `<${JSON.stringify(v)}>`;

/** The partition key a PartiQL statement names: `'pk': ?` in an INSERT, `pk = ?` in a WHERE. */
function partiqlPk(statement: string, parameters: readonly unknown[] = []): string {
  const insert = [...statement.matchAll(/'(\w+)'\s*:\s*\?/g)].map((m) => m[1]);
  if (insert.length > 0) return str(parameters[insert.indexOf("pk")]);
  const where = /"?pk"?\s*=\s*\?/.exec(statement);
  if (!where) return `<${statement}>`;
  return str(parameters[(statement.slice(0, where.index).match(/\?/g) ?? []).length]);
}

/** IAM's view of one request: each item's action (a transaction's items are authorized one by one). */
function touches(command: string, input: Record<string, unknown>): Touch[] {
  const name = command.replace(/Command$/, "");
  const item = (action: string, key: unknown) => ({
    action: `dynamodb:${action}`,
    pk: str((key as Record<string, unknown> | undefined)?.pk),
  });
  // One item by key (the document client's commands drop "Item" from the name).
  const single = /^(Get|Put|Update|Delete)(Item)?$/.exec(name);
  if (single) return [item(`${single[1]}Item`, single[1] === "Put" ? input.Item : input.Key)];
  switch (name) {
    case "Query": {
      const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
      const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
      const eq = [...String(input.KeyConditionExpression).matchAll(/(#?\w+)\s*=\s*(:\w+)/g)].find(
        (m) => (names[m[1]!] ?? m[1]) === "pk",
      );
      return [{ action: "dynamodb:Query", pk: eq ? str(values[eq[2]!]) : "<no pk condition>" }];
    }
    case "BatchGetItem":
    case "BatchGet":
      return Object.values(input.RequestItems as Record<string, { Keys: unknown[] }>).flatMap((r) =>
        r.Keys.map((k) => item("BatchGetItem", k)),
      );
    case "BatchWriteItem":
    case "BatchWrite":
      return Object.values(
        input.RequestItems as Record<
          string,
          { PutRequest?: { Item: unknown }; DeleteRequest?: { Key: unknown } }[]
        >,
      ).flatMap((rs) => rs.map((r) => item("BatchWriteItem", r.PutRequest?.Item ?? r.DeleteRequest?.Key)));
    case "TransactWriteItems":
    case "TransactWrite":
      return (input.TransactItems as Record<string, { Item?: unknown; Key?: unknown }>[]).map((t) => {
        const [kind, op] = Object.entries(t)[0]!;
        const action = {
          Put: "PutItem",
          Update: "UpdateItem",
          Delete: "DeleteItem",
          ConditionCheck: "ConditionCheckItem",
        }[kind];
        return item(action ?? kind, op.Item ?? op.Key);
      });
    case "TransactGetItems":
    case "TransactGet":
      return (input.TransactItems as { Get: { Key: unknown } }[]).map((t) => item("GetItem", t.Get.Key));
    case "ExecuteStatement":
    case "BatchExecuteStatement": {
      const statements = (
        name === "ExecuteStatement" ? [input] : (input.Statements as Record<string, unknown>[])
      ) as { Statement: string; Parameters?: unknown[] }[];
      return statements.map((s) => ({
        action: `dynamodb:PartiQL${(s.Statement.trim().split(/\s/)[0] ?? "").toLowerCase().replace(/^./, (c) => c.toUpperCase())}`,
        pk: partiqlPk(s.Statement, s.Parameters),
      }));
    }
    default:
      return [{ action: `dynamodb:${name}`, pk: "<no key>" }];
  }
}

/** `dynamodb:LeadingKeys` with StringLike: `*` any run of characters, `?` one character. */
const like = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replaceAll("*", ".*")
      .replaceAll("?", ".")}$`,
  ).test(value);

const grantOf = (fn: BillingFunctionName, t: Touch) =>
  TABLE_ACCESS[fn].flatMap((row) =>
    row.actions.includes(t.action as never) ? row.leadingKeys.filter((p) => like(p, t.pk)) : [],
  );

const tariffs = parseTariffs([{ tariffId: "mixed", currency: "EUR", versions: [mixedTariffVersion] }]);
const accounts = parseAccounts(
  [
    { accountId: "acme", name: "Acme", currency: "EUR", tariffId: "mixed" },
    {
      accountId: "contoso",
      name: "Contoso",
      currency: "EUR",
      tariffId: "mixed",
      billingChannel: "azure-marketplace",
      azure: {
        resourceId: "res-contoso",
        planId: "plan-std",
        dimensions: { "sms.mt": "sms_mt" },
        includedQuantities: {},
      },
    },
  ],
  tariffs,
);

let n = 0;
const event = (
  subject: string,
  type: string,
  time: string,
  data: Record<string, unknown>,
  id = `g${++n}`,
) => ({
  specversion: "1.0",
  id,
  source: "/grants",
  type,
  subject,
  time,
  data,
});
const sms = (subject: string, time: string, id?: string) =>
  event(subject, "sms.mt", time, { to: "905320000000", country: "TR", status: "submitted" }, id);
const sqsEvent = (bodies: readonly unknown[]) =>
  ({
    Records: bodies.map((b, i) => ({
      messageId: `m${++n}-${i}`,
      body: typeof b === "string" ? b : JSON.stringify(b),
    })),
  }) as SQSEvent;

describe("table grants proven against the functions' real requests", () => {
  let system: LocalBillingSystem;
  let stopApi: (() => Promise<void>) | undefined;
  const clock = new VirtualClock(Date.parse("2025-07-02T10:05:00Z"));
  const recorded = new Map<BillingFunctionName, Touch[]>();

  /** The SDK clients a function's wiring gets, its DynamoDB requests recorded under its name. */
  const clientsOf = (fn: BillingFunctionName) => {
    const endpoints = {
      region: "us-east-1",
      dynamodbEndpoint: system.endpoints.dynamodb,
      sqsEndpoint: system.endpoints.sqs,
      s3Endpoint: system.endpoints.s3,
    };
    const dynamo = dynamoClient(endpoints);
    const list: Touch[] = recorded.get(fn) ?? [];
    recorded.set(fn, list);
    dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        const tables = JSON.stringify(input.TableName ?? input.RequestItems ?? input.TransactItems ?? "");
        if (!tables.includes(system.tableName) && !JSON.stringify(input).includes(system.tableName))
          list.push({ action: "another table", pk: tables });
        list.push(...touches(context.commandName ?? "?", input));
        return next(args);
      },
      { step: "build", name: "recordTableAccess" },
    );
    return { endpoints, dynamo, sqs: system.sqs, trace: <C extends object>(c: C) => c };
  };

  beforeAll(async () => {
    system = await startLocalBillingSystem({ clock });
    await system.loadConfig({ accounts, tariffs });
    const api = await new LocalMeteringApi({ clock, resources: meteringResourcesOf(accounts) }).start();
    stopApi = api.stop;
    const base = { BILLING_TABLE: system.tableName, CONFIG_CACHE_SECONDS: 0 };
    const ingest = createIngestHandler(
      ingestDeps(
        { ...base, INGEST_TIMEOUT_SECONDS: 30, EXPORTS_BUCKET: system.exportsBucket },
        clientsOf("ingestUsage"),
        clock,
      ),
    );
    const scheduler = createCloseSchedulerHandler(
      closeSchedulerDeps(
        {
          ...base,
          CLOSE_QUEUE_URL: system.queueUrls.close,
          CLOSE_GRACE_HOURS: 2,
          EXPORTS_BUCKET: system.exportsBucket,
        },
        clientsOf("closeScheduler"),
        clock,
      ),
    );
    const worker = createCloseWorkerHandler(
      closeWorkerDeps({ ...base, EXPORTS_BUCKET: system.exportsBucket }, clientsOf("closeWorker"), clock),
    );
    const financeApi = createFinanceApiHandler(financeApiDeps(base, clientsOf("financeApi"), clock));
    const reporter = createMarketplaceReporterHandler(
      marketplaceReporterDeps(
        { ...base, MARKETPLACE_API_URL: api.url },
        clientsOf("marketplaceReporter"),
        clock,
      ),
      { log: () => undefined },
    );
    const deadLetters = createDeadLetterHandler(
      deadLetterDeps(
        {
          ...base,
          USAGE_QUEUE_URL: system.queueUrls.usage,
          USAGE_DLQ_URL: system.queueUrls.deadLetter,
          EXPORTS_BUCKET: system.exportsBucket,
        },
        clientsOf("deadLetter"),
      ),
    );
    /** One scheduler run, then the close requests it sent, fed to the worker as the event source does. */
    const scheduleAndClose = async () => {
      const { fannedOut } = await scheduler({});
      let expected = fannedOut.reduce((k, f) => k + f.enqueued, 0);
      expect(expected).toBeGreaterThan(0);
      while (expected > 0) {
        const r = await system.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: system.queueUrls.close,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
        );
        const messages = r.Messages ?? [];
        expected -= messages.length;
        if (messages.length > 0)
          expect(
            (
              await worker({
                Records: messages.map((m) => ({ messageId: m.MessageId, body: m.Body })),
              } as SQSEvent)
            ).batchItemFailures,
          ).toEqual([]);
      }
    };

    // July: counted and stateful events, a JSON batch body, bad events of every kind, an account
    // that is not configured; then the same events again (duplicates) and one conflicting body.
    const first = sms("acme", "2025-07-02T09:00:00Z", "acme-1");
    const july = [
      first,
      event("acme", "whatsapp.message", "2025-07-02T09:10:00Z", {
        endUserId: "u1",
        senderId: "wa1",
        kind: "freeform",
        category: "utility",
        delivered: true,
      }),
      [
        event("acme", "viber.inbound", "2025-07-02T09:11:00Z", { endUserId: "u1", serviceId: "svc-1" }),
        event("acme", "sms.mo", "2025-07-02T09:12:00Z", { from: "u1", country: "TR", status: "accepted" }),
      ],
      sms("contoso", "2025-07-02T09:20:00Z"),
      sms("nobody", "2025-07-02T09:21:00Z"),
      // More rejected messages than the report shows inline: the close stores them in REPORT# chunks.
      ...Array.from({ length: 21 }, () => event("acme", "no.such.type", "2025-07-02T09:22:00Z", {})),
      "{ not json",
    ];
    const r1 = await ingest(sqsEvent(july));
    expect(r1.outcomes).toMatchObject({ stored: 5, "dead-lettered": 23, failed: 0 });
    const r2 = await ingest(sqsEvent([first, { ...first, data: { ...first.data, country: "DE" } }]));
    expect(r2.outcomes).toMatchObject({ duplicate: 1, conflict: 1 });

    // The reporter sends contoso's hour 09 to the Metering API.
    clock.advanceTo(Date.parse("2025-07-02T10:30:00Z"));
    const run = await reporter({});
    expect(run.totals.accepted).toBe(1);

    // July closes in the first hourly run after its end plus the grace; a late July event follows.
    clock.advanceTo(Date.parse("2025-08-01T02:30:00Z"));
    await scheduleAndClose();
    clock.advanceTo(Date.parse("2025-08-01T03:00:00Z"));
    // A late stateful event changes the snapshot at August's start: rewritten, its old parts deleted.
    const late = await ingest(
      sqsEvent([
        sms("acme", "2025-07-20T12:00:00Z"),
        event("acme", "viber.inbound", "2025-07-31T23:30:00Z", { endUserId: "u2", serviceId: "svc-1" }),
        sms("acme", "2025-08-01T02:00:00Z"),
      ]),
    );
    expect(late.outcomes.stored).toBe(3);
    // August's close bills the late event as an adjustment of July (snapshots carried over).
    clock.advanceTo(Date.parse("2025-09-01T02:30:00Z"));
    await scheduleAndClose();

    // Finance reads July's lines (JSON and CSV), its report, one line's explanation, and September's
    // month-to-date usage through the API's Lambda handler.
    const get = async (url: string) => {
      const r = await financeApi(httpApiEvent({ method: "GET", url, headers: { host: "api" } }));
      expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
      return r.body ?? "";
    };
    const page = JSON.parse(await get("/periods/2025-07/invoice-lines?format=json")) as {
      lines: { line_id: string }[];
    };
    expect(page.lines.length).toBeGreaterThan(0);
    expect(await get("/periods/2025-07/invoice-lines?format=csv")).toContain(page.lines[0]!.line_id);
    await get("/periods/2025-07/close-report?accountId=acme");
    await get(`/invoice-lines/${page.lines[0]!.line_id}/explanation`);
    await get("/accounts/acme/usage?period=2025-07");

    // A letter stored before dead letters were sharded (one DEADLETTER partition, its DLA# index
    // entry): the dead-letter function's listing moves it to its shard.
    const receivedAt = Date.parse("2025-07-02T00:00:00Z");
    const old = {
      deadLetterId: "before-shards",
      messageId: "before-shards",
      receivedAt,
      reason: "unknown account",
    };
    const oldShape = [
      legacyDeadLetterItem.av.item({ ...old, subject: "acme" }),
      letterIndexItem.av.item({ ...old, indexPk: letterIndexPk("acme") }),
    ];
    for (const Item of oldShape)
      await system.dynamodb.send(new PutItemCommand({ TableName: system.tableName, Item }));
    // The operator lists and redrives the dead letters (back to the usage queue).
    const listed = (await deadLetters({ action: "list" })) as { letters?: unknown[] };
    expect(JSON.stringify(listed)).toContain("no.such.type");
    await deadLetters({ action: "redrive" });
  }, 240_000);

  afterAll(async () => {
    if (process.env.PRINT_TOUCHES)
      for (const [fn, list] of recorded)
        console.log(fn, [...new Set(list.map((t) => `${t.action} ${t.pk.replace(/#.*/, "#")}`))].sort());
    await stopApi?.();
    await system?.stop();
  });

  it.each(Object.keys(TABLE_ACCESS) as BillingFunctionName[])(
    "%s: every item it touches is allowed by its TABLE_ACCESS rows",
    (fn) => {
      const list = recorded.get(fn) ?? [];
      expect(list.length).toBeGreaterThan(0);
      const refused = [
        ...new Set(list.filter((t) => grantOf(fn, t).length === 0).map((t) => `${t.action} ${t.pk}`)),
      ];
      expect(refused).toEqual([]);
    },
  );

  /** Granted for paths this scenario does not reach (each read in the code). */
  const NOT_EXERCISED = [
    // usage-store.ts takeOver: the claims of an attempt older than the cut-off (4 ingest timeouts).
    "ingestUsage dynamodb:UpdateItem ID#*",
    // billing-table.ts putDeadLetter: a letter stored again under another subject moves its index.
    "ingestUsage dynamodb:DeleteItem DLA#*",
    "ingestUsage dynamodb:DeleteItem DLS#*",
    // late-conflicts.ts: a conflict whose first copy's period is closed (accounts-leave-arrive.test.ts).
    "ingestUsage dynamodb:PutItem LATECF#*",
    // period-exports.ts writePeriodManifest: an account whose objects a crashed close did not write.
    "closeScheduler dynamodb:Query BILL#*",
    "closeScheduler dynamodb:GetItem BILL#*",
    // fold/usage-journal.ts (the close folds its account's shard): a dead attempt aborted past the
    // cut-off (usage-fold.test.ts), a counter outside its full bundle (none here: a few counters).
    "closeWorker dynamodb:PutItem COMMIT#*",
    "closeWorker dynamodb:UpdateItem CTR#*",
    // report-chunks.ts: chunks a crashed earlier attempt of the same close wrote and this one did not
    // (looked for, Query, only when the claim was taken over from a crashed run).
    "closeWorker dynamodb:Query REPORT#*",
    // billing-table.ts writeCloseLines: line chunks a crashed earlier attempt wrote and this one does not.
    "closeWorker dynamodb:DeleteItem BILL#*",
    "closeWorker dynamodb:DeleteItem REPORT#*",
    // usage-store.ts putSnapshot: the parts of a snapshot too large for its head item, replaced.
    "closeWorker dynamodb:DeleteItem SNAP#*",
    // period-index.ts closedAccount: a close request delivered again for a closed account.
    "closeWorker dynamodb:GetItem PERIOD#*",
    // late-conflicts.ts: deleted by the next close once its report lists it (accounts-leave-arrive.test.ts).
    "closeWorker dynamodb:DeleteItem LATECF#*",
    // unclosed-usage.ts suspendClose: a close request for an account with no configuration at all.
    "closeWorker dynamodb:UpdateItem UNCLOSED#*",
    // marketplace-ledger.ts: the snapshot at the first month in play, read once an earlier month
    // holds usage (this scenario's Marketplace account has July only; marketplace-outage.test.ts).
    "marketplaceReporter dynamodb:Query SNAP#*",
    // The reporter's fold: as the close worker's above.
    "marketplaceReporter dynamodb:PutItem COMMIT#*",
    "marketplaceReporter dynamodb:UpdateItem CTR#*",
    // billing-table.ts remove: a letter from before sharding removed without a listing first.
    "deadLetter dynamodb:GetItem DEADLETTER",
    // period-index.ts closedAccount: ?accountId= of an account no longer configured (contract §2).
    "financeApi dynamodb:GetItem PERIOD#*",
  ];

  it("every granted (action, key prefix) is used by some request, but for the paths listed: no grant nothing needs", () => {
    const unused: string[] = [];
    for (const [fn, rows] of Object.entries(TABLE_ACCESS) as [
      BillingFunctionName,
      (typeof TABLE_ACCESS)[BillingFunctionName],
    ][])
      for (const row of rows)
        for (const action of row.actions)
          for (const prefix of row.leadingKeys)
            if (!(recorded.get(fn) ?? []).some((t) => t.action === action && like(prefix, t.pk)))
              unused.push(`${fn} ${action} ${prefix}`);
    expect(unused).toEqual(NOT_EXERCISED);
  });
});

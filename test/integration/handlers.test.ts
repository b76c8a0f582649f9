/**
 * The Lambda handlers' contracts on real parts: the ingest handler reports only the messages it could
 * not store as batch item failures (so SQS retries just those), each with an ERROR log line and the
 * EMF metric the ingest-errors alarm watches, and throws when a whole batch fails; the dead-letter
 * function lists and redrives; the close scheduler enqueues each account once its period is over
 * (plus the grace) and the close worker closes it, with partial batch failures.
 */
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createCloseSchedulerHandler } from "../../functions/close-scheduler/handler.js";
import { createCloseWorkerHandler } from "../../functions/close-worker/handler.js";
import { createDeadLetterHandler } from "../../functions/dead-letter/handler.js";
import { createIngestHandler, IngestBatchFailedError } from "../../functions/ingest-usage/handler.js";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { DynamoCloseScheduleStore } from "../../shared/adapters/dynamodb/close-schedule-store.js";
import { directoryOf } from "../../shared/app/ingest-usage.js";
import {
  INGEST_UNEXPECTED_ERRORS_METRIC,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  SERVICE_NAME,
} from "../../shared/runtime/observability.js";
import { dynamoClient, storeDeps } from "../../shared/runtime/wiring.js";
import { captureOutput, emfDocuments } from "../support/capture-output.js";
import { configOf, rawBody, stdTariffs, useLocalSystem } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }]);
const accounts = configOf(tariffs).accounts;
const record = (messageId: string, body: string) => ({ messageId, body }) as SQSRecord;
/** An SMS to Turkey of acme on 2 July (0.05 EUR). */
const sms = (id: string) => rawBody({ id });

describe("Lambda handlers", () => {
  const scenario = useLocalSystem({ at: "2025-07-03T00:00:00Z", config: { accounts, tariffs } });
  const { clock } = scenario;
  /** The ingest handler over `store` (ledger and periods), its dead letters in `deadLetters`. */
  const ingestHandler = (
    store: DynamoBillingStore = scenario.system.store,
    deadLetters: DynamoBillingStore = scenario.system.store,
  ) =>
    createIngestHandler({
      usage: store.usage,
      periods: store,
      deadLetters,
      clock,
      accounts: directoryOf({ accounts, tariffs }),
    });
  /** Nothing listens on port 1: every call is refused (ECONNREFUSED), a transient error SQS retries. */
  const unreachableStore = () =>
    new DynamoBillingStore(
      dynamoClient({ region: "us-east-1", dynamodbEndpoint: "http://127.0.0.1:1" }),
      "billing",
    );

  it("ingest: a storage error that is not transient (a missing table) is ours: the messages return to the queue, only the bad one is dead-lettered", async () => {
    // A real DynamoDB whose ledger table does not exist: every write fails as it would in a bad deployment.
    const broken = new DynamoBillingStore(
      dynamoClient({ region: "us-east-1", dynamodbEndpoint: scenario.system.endpoints.dynamodb }),
      "no-such-table",
    );
    const handler = ingestHandler(broken);
    const run = await captureOutput(() =>
      handler({
        Records: [record("m1", sms("h1")), record("m2", "{not json"), record("m3", sms("h3"))],
      } as SQSEvent),
    );
    expect(run.result?.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["m1", "m3"]);
    expect(run.result?.outcomes).toMatchObject({ failed: 2, "dead-lettered": 1 });
    const letters = await scenario.system.store.list();
    expect(letters.map((d) => d.messageId)).toContain("m2");
    expect(letters.map((d) => d.messageId)).not.toContain("m1");
    expect(emfDocuments(run.stdout).map((d) => d[INGEST_UNEXPECTED_ERRORS_METRIC])).toEqual([2]);
    const causes = [...run.stdout, ...run.stderr].flatMap((l) =>
      typeof l === "object" && l !== null && (l as { level?: string }).level === "ERROR"
        ? [(l as { cause?: unknown }).cause]
        : [],
    );
    expect(causes).toEqual(["unexpected", "unexpected"]);
  });

  it("ingest: a network failure is transient: reported per message for SQS to retry", async () => {
    // Every call is refused (ECONNREFUSED) after the SDK's own retries.
    const unreachable = unreachableStore();
    const handler = ingestHandler(unreachable, unreachable);
    // Its only record failed transiently: the whole batch returns to the queue (the handler throws,
    // so Lambda's Errors metric sees the outage), nothing is dead-lettered.
    const err = await handler({ Records: [record("t1", sms("u1"))] } as SQSEvent).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestBatchFailedError);
    expect((err as IngestBatchFailedError).outcomes).toMatchObject({ failed: 1, "dead-lettered": 0 });
  });

  it("ingest: a transient storage failure is a batch item failure, an ERROR log line and the EMF metric; the bad message is still dead-lettered", async () => {
    const handler = ingestHandler(unreachableStore());
    const run = await captureOutput(() =>
      handler({
        Records: [record("m1", sms("h1")), record("m2", "{not json"), record("m3", sms("h3"))],
      } as SQSEvent),
    );
    const r = run.result;
    expect(r?.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["m1", "m3"]);
    expect(r?.outcomes).toMatchObject({ failed: 2, "dead-lettered": 1 });
    expect((await scenario.system.store.list()).map((d) => d.messageId)).toContain("m2");

    const errors = [...run.stdout, ...run.stderr].filter(
      (l): l is Record<string, unknown> =>
        typeof l === "object" && l !== null && (l as { level?: string }).level === "ERROR",
    );
    expect(errors.map((l) => l.messageId).sort()).toEqual(["m1", "m3"]);
    for (const l of errors) {
      expect(l).toMatchObject({
        service: SERVICE_NAME,
        message: expect.stringMatching(/ingest failed \(our fault\)/),
        fault: "ours",
        cause: "unavailable",
      });
      expect(JSON.stringify(l.error)).toMatch(/ECONNREFUSED|connect/i);
    }
    const emf = emfDocuments(run.stdout);
    expect(emf).toHaveLength(1);
    expect(emf[0]?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [Object.keys(METRIC_DIMENSIONS)],
        Metrics: [{ Name: INGEST_UNEXPECTED_ERRORS_METRIC, Unit: "Count" }],
      },
    ]);
    expect(emf[0]).toMatchObject({ ...METRIC_DIMENSIONS, [INGEST_UNEXPECTED_ERRORS_METRIC]: 2 });
  });

  it("ingest: when every record of a batch fails the handler throws (Lambda's Errors metric), after logging and counting each", async () => {
    const handler = ingestHandler(unreachableStore());
    const run = await captureOutput(() =>
      handler({ Records: [record("x1", sms("y1")), record("x2", sms("y2"))] } as SQSEvent),
    );
    expect(run.error).toBeInstanceOf(IngestBatchFailedError);
    expect((run.error as IngestBatchFailedError).outcomes).toMatchObject({ failed: 2, stored: 0 });
    expect(emfDocuments(run.stdout).map((d) => d[INGEST_UNEXPECTED_ERRORS_METRIC])).toEqual([2]);
    const errorLines = [...run.stdout, ...run.stderr].filter(
      (l) => typeof l === "object" && l !== null && (l as { level?: string }).level === "ERROR",
    );
    expect(errorLines).toHaveLength(2);
  });

  it("ingest: a healthy batch emits no error line and no metric", async () => {
    const handler = ingestHandler();
    const run = await captureOutput(() => handler({ Records: [record("q1", sms("q1"))] } as SQSEvent));
    expect(run.result?.outcomes).toMatchObject({ stored: 1, failed: 0 });
    expect(emfDocuments(run.stdout)).toEqual([]);
    expect(JSON.stringify([...run.stdout, ...run.stderr])).not.toMatch(/"ERROR"/);
  });

  it("ingest: a healthy batch reports no failures and stores each message once", async () => {
    const handler = ingestHandler();
    const r = await handler({
      Records: [record("n1", sms("k1")), record("n2", sms("k1")), record("n3", sms("k2"))],
    } as SQSEvent);
    expect(r.batchItemFailures).toEqual([]);
    expect(r.outcomes).toMatchObject({ stored: 2, duplicate: 1, failed: 0 });
  });

  it("dead-letter function: lists letters with reasons and redrives them to the usage queue", async () => {
    const handler = createDeadLetterHandler({
      store: scenario.system.store,
      queue: scenario.system.usageQueue,
      dlq: scenario.system.failedMessages,
    });
    const listed = (await handler({ action: "list" })) as {
      invalid: { messageId: string; reason: string }[];
    };
    expect(listed.invalid).toEqual([
      expect.objectContaining({ messageId: "m2", reason: expect.stringMatching(/^body is not JSON/) }),
    ]);
    const redriven = await handler({ action: "redrive" });
    expect(redriven).toEqual({ redriven: 1, fromQueue: 0, kept: [] });
    const tally = await scenario.system.drain();
    expect(tally["dead-lettered"]).toBe(1); // still not JSON: back in the store, with its reason, not lost
    await expect(handler({ action: "explode" })).rejects.toThrow();
  });

  it("close scheduler and worker: the hourly run after the period end plus grace enqueues the account once; the worker closes it, a repeat is acknowledged, bad requests are failures", async () => {
    const scheduler = createCloseSchedulerHandler({
      schedule: new DynamoCloseScheduleStore(scenario.system.dynamodb, scenario.system.tableName),
      queue: scenario.system.closeQueue,
      clock,
      graceHours: 2,
    });
    const julyEvents = (await scenario.system.store.usage.countersOf("acme", "2025-07")).events;
    expect(julyEvents).toBeGreaterThan(0);
    scenario.travelTo("2025-08-01T01:59:59Z"); // July ended in UTC, grace not yet over
    // The first run sees the zone for the first time: only its latest due period, June (empty).
    expect((await scheduler({})).fannedOut).toEqual([{ zone: "UTC", period: "2025-06", enqueued: 1 }]);
    scenario.travelTo("2025-08-01T02:00:00Z");
    expect((await scheduler({})).fannedOut).toEqual([{ zone: "UTC", period: "2025-07", enqueued: 1 }]);
    expect((await scheduler({})).fannedOut).toEqual([]); // the next hourly run: nothing again
    const outcomes = await scenario.system.drainCloses();
    expect(outcomes.map((o) => `${o.period} ${o.status}`).sort()).toEqual([
      "2025-06 closed",
      "2025-07 closed",
    ]);
    expect(outcomes.filter((o) => o.period === "2025-07")).toMatchObject([
      {
        accountId: "acme",
        period: "2025-07",
        status: "closed",
        events: julyEvents,
        lines: 1,
        totals: { amount: (0.05 * julyEvents).toFixed(2) },
      },
    ]);
    expect((await scenario.system.store.getClose("acme", "2025-07"))?.status).toBe("closed");

    const worker = createCloseWorkerHandler(
      storeDeps(scenario.system.store, clock, async () => ({ accounts, tariffs })),
    );
    const body = (o: unknown) => JSON.stringify(o);
    const r = await worker({
      Records: [
        record("again", body({ accountId: "acme", period: "2025-07" })),
        record("gone", body({ accountId: "nobody", period: "2025-07" })),
        record("bad-period", body({ accountId: "acme", period: "2025-13" })),
        record("not-json", "{"),
      ],
    } as SQSEvent);
    // Closed already: acknowledged; an account no longer configured: dropped (logged); malformed: failures.
    expect(r.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(["bad-period", "not-json"]);
    expect((await scenario.system.store.getClose("acme", "2025-07"))?.status).toBe("closed");
  });
});

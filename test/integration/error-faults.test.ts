/**
 * Whose fault a failure is (issue 22, item 2), on real parts (DynamoDB Local, the real handler): the
 * sender's faults are dead-lettered with their reason; ours or the platform's — AccessDenied, KMS,
 * throttling that outlasted the SDK's retries or the claims' own retries, a timeout, a validation
 * error from the store — return the messages to the queue, each with an ERROR line naming its cause
 * and the metric the "ours" alarm watches; never a dead letter, and never for an attempt that committed.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createIngestHandler, IngestBatchFailedError } from "../../functions/ingest-usage/handler.js";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { directoryOf } from "../../shared/app/ingest-usage.js";
import { INGEST_UNEXPECTED_ERRORS_METRIC } from "../../shared/runtime/observability.js";
import { captureOutput, emfDocuments } from "../support/capture-output.js";
import { faultyClient } from "../support/faulty-dynamodb.js";
import { configOf, rawBody, stdTariffs, useLocalSystem } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }]);
/** acme, and 100 accounts whose counters make a batch of them two attempts (100 items each at most). */
const many = Array.from({ length: 100 }, (_, i) => `a${i}`);
const config = configOf(tariffs, ["acme", ...many]);
const record = (messageId: string, body: string) => ({ messageId, body }) as SQSRecord;
const sms = (id: string, subject = "acme") => rawBody({ id, subject });
const named = (name: string, message: string, status: number) =>
  Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: status } });

describe("errors by whose fault they are", () => {
  const scenario = useLocalSystem({ at: "2025-07-03T00:00:00Z", config });
  const handlerOver = (client: DynamoDBClient) => {
    const faulty = new DynamoBillingStore(client, scenario.system.tableName);
    return createIngestHandler({
      usage: faulty.usage,
      periods: scenario.system.store,
      deadLetters: scenario.system.store,
      clock: scenario.clock,
      accounts: directoryOf(config),
    });
  };
  /** Runs a batch; returns what the handler answered (a thrown whole-batch failure included) and logged. */
  const run = async (client: DynamoDBClient, records: SQSRecord[]) => {
    const out = await captureOutput(() => handlerOver(client)({ Records: records } as SQSEvent));
    const lines = [...out.stdout, ...out.stderr].filter(
      (l): l is Record<string, unknown> =>
        typeof l === "object" && l !== null && (l as { level?: string }).level === "ERROR",
    );
    const returned =
      out.error instanceof IngestBatchFailedError
        ? records.map((r) => r.messageId)
        : (out.result?.batchItemFailures.map((f) => f.itemIdentifier) ?? []);
    if (out.error && !(out.error instanceof IngestBatchFailedError)) throw out.error;
    return {
      returned: returned.sort(),
      causes: lines.map((l) => l.cause),
      ours: emfDocuments(out.stdout).reduce((n, d) => n + Number(d[INGEST_UNEXPECTED_ERRORS_METRIC] ?? 0), 0),
    };
  };
  const letters = async () => (await scenario.system.store.list()).map((d) => d.messageId).sort();
  const healthy = () =>
    new DynamoDBClient({
      region: "us-east-1",
      endpoint: scenario.system.endpoints.dynamodb,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });

  it.each([
    [
      "AccessDenied (a broken grant)",
      "access-denied",
      () => named("AccessDeniedException", "not authorized", 400),
    ],
    [
      "a KMS refusal (the table key disabled)",
      "kms",
      () => named("KMSAccessDeniedException", "KMS key access denied", 400),
    ],
    [
      "a request timeout",
      "timeout",
      () => Object.assign(new Error("socket timed out"), { name: "TimeoutError" }),
    ],
    [
      "a validation error from the store (our item sizing)",
      "unexpected",
      () => named("ValidationException", "Item size has exceeded the maximum allowed size", 400),
    ],
  ])(
    "%s: the messages return to the queue, the bad one alone is dead-lettered",
    async (_what, cause, error) => {
      const faulty = faultyClient(scenario.system.endpoints.dynamodb, {
        mode: "crash",
        failAt: 1,
        error: () => error(),
      });
      const before = await letters();
      const r = await run(faulty.client, [
        record(`${cause}-1`, sms(`${cause}-e1`)),
        record(`${cause}-bad`, "{not json"),
        record(`${cause}-2`, sms(`${cause}-e2`)),
      ]);
      expect(r.returned).toEqual([`${cause}-1`, `${cause}-2`]);
      expect(r.causes).toEqual([cause, cause]);
      expect(r.ours).toBe(2);
      expect((await letters()).filter((id) => !before.includes(id))).toEqual([`${cause}-bad`]);
    },
  );

  it("throttling that outlasts the SDK's retries is ours: back to the queue, then stored once", async () => {
    // Every request is throttled inside the SDK's retry loop, as DynamoDB answers an overloaded key.
    const throttledAll = faultyClient(scenario.system.endpoints.dynamodb, {
      mode: "once",
      rate: 1,
      withinRetries: true,
      clientOptions: { maxAttempts: 2 },
      error: (n, c) =>
        Object.assign(new Error(`throttled ${n} ${c}`), {
          name: "ThrottlingException",
          $fault: "client",
          $metadata: { httpStatusCode: 400 },
        }),
    });
    const batch = [record("thr-1", sms("thr-e1")), record("thr-2", sms("thr-e2"))];
    const r = await run(throttledAll.client, batch);
    expect(r.returned).toEqual(["thr-1", "thr-2"]);
    expect(r.causes).toEqual(["throttled", "throttled"]);
    // The SDK retried each request itself before giving up.
    expect(throttledAll.calls.length).toBeGreaterThanOrEqual(2);
    const before = (await scenario.system.store.usage.countersOf("acme", "2025-07")).events;
    expect(await run(healthy(), batch)).toMatchObject({ returned: [], ours: 0 });
    expect((await scenario.system.store.usage.countersOf("acme", "2025-07")).events).toBe(before + 2);
    expect(await letters()).not.toContain("thr-1");
  });

  it("identity claims throttled statement by statement past their retries: a named throttling error, back to the queue", async () => {
    // DynamoDB answers a throttled statement of a BatchExecuteStatement inside a 200 response.
    const client = healthy();
    let answered = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== "BatchExecuteStatementCommand") return next(args);
        answered += 1;
        const statements = (args.input as { Statements: unknown[] }).Statements;
        return {
          response: {},
          output: {
            $metadata: { httpStatusCode: 200 },
            Responses: statements.map(() => ({
              Error: { Code: "ThrottlingError", Message: "Throughput exceeds the current capacity" },
            })),
          },
        } as Awaited<ReturnType<typeof next>>;
      },
      { step: "initialize", name: "throttleStatements" },
    );
    const out = await captureOutput(() =>
      handlerOver(client)({ Records: [record("st-1", sms("st-e1"))] } as SQSEvent),
    );
    expect(out.error).toBeInstanceOf(IngestBatchFailedError);
    const cause = (out.error as IngestBatchFailedError).cause as { name?: string; code?: string };
    expect(cause).toMatchObject({ name: "StatementsRefusedError", code: "ThrottlingError" });
    expect(answered).toBe(9);
    expect(
      [...out.stdout, ...out.stderr].filter((l) => (l as { level?: string }).level === "ERROR"),
    ).toMatchObject([{ fault: "ours", cause: "throttled", messageId: "st-1" }]);
    expect(await letters()).not.toContain("st-1");
  });

  it("a failure after the batch committed (its fold refused): nothing is dead-lettered, the re-delivery completes it exactly", async () => {
    // 100 accounts: one attempt commits; the fold that follows (the local run folds each batch at
    // once) has its first counter write refused as not transient, after the commit landed.
    const batch = many.map((a, i) => record(`two-${i}`, sms(`two-${i}`, a)));
    const client = healthy();
    let refused = false;
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: { pk?: { S?: string } }; Item?: { pk?: { S?: string } } };
        const key = input.Key?.pk?.S ?? input.Item?.pk?.S ?? "";
        if (!key.startsWith("CTR#") || refused) return next(args);
        refused = true;
        throw named("ValidationException", "One or more parameter values were invalid", 400);
      },
      { step: "initialize", name: "refuseFirstCounter" },
    );
    const r1 = await run(client, batch);
    expect(refused).toBe(true);
    // Every message returns (the committed ones too: the re-delivery finds them as duplicates).
    expect(r1.returned).toHaveLength(batch.length);
    expect(await letters()).not.toContain("two-0");
    const r2 = await run(healthy(), batch);
    expect(r2).toMatchObject({ returned: [], ours: 0 });
    const counts = await Promise.all(
      many.map(async (a) => (await scenario.system.store.usage.countersOf(a, "2025-07")).events),
    );
    expect(counts).toEqual(many.map(() => 1));
    expect((await letters()).filter((id) => id.startsWith("two-"))).toEqual([]);
  });
});

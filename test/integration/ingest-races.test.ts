/**
 * The races the claim/commit protocol exists for (usage-store.ts), for real on DynamoDB Local with
 * real concurrency (issue 22, item 4): a write that lands but whose reply is lost (the SDK's own
 * retry, and SQS's re-delivery), two invocations claiming overlapping events at the same moment, a
 * slow owner taken over after the cut-off, and the `error.Item` answers AWS gives (which DynamoDB
 * Local does not) through a stand-in that returns items the way DynamoDB does. Each ends in exactly
 * one count per event; each fails when the condition it protects is removed (commit messages).
 */
import { type AttributeValue, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createIngestHandler, IngestBatchFailedError } from "../../functions/ingest-usage/handler.js";
import { DynamoBillingStore, ensureBillingTable } from "../../shared/adapters/dynamodb/billing-table.js";
import { identityClaimItem } from "../../shared/adapters/dynamodb/items/usage.js";
import { foldAccounts } from "../../shared/app/fold-usage.js";
import { directoryOf } from "../../shared/app/ingest-usage.js";
import { faultyClient, isCommitPut } from "../support/faulty-dynamodb.js";
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

/** Resolves once `n` parties have arrived: they then send at the same moment. */
function meeting(n: number) {
  let arrived = 0;
  let open!: () => void;
  const all = new Promise<void>((r) => {
    open = r;
  });
  return () => {
    if (++arrived >= n) open();
    return all;
  };
}
/** A gate: requests wait at it until it is opened. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}
type Hook = (command: string, input: Record<string, unknown>) => Promise<void> | void;
/** Runs `hook` before each request of the client is sent (it may wait). */
const beforeSend = (client: DynamoDBClient, hook: Hook) =>
  client.middlewareStack.add(
    (next, context) => async (args) => {
      await hook(context.commandName ?? "?", args.input as Record<string, unknown>);
      return next(args);
    },
    { step: "initialize", name: "raceHook" },
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
  /**
   * A client whose invocation stalls (a GC pause, a slow network) just before its commit
   * transaction: `reached` opens when it gets there, and it goes on once `held` is opened.
   */
  const stallingBeforeCommit = () => {
    const held = gate();
    const reached = gate();
    const client = healthyClient();
    beforeSend(client, async (command, input) => {
      if (isCommitPut(command, input)) {
        reached.open();
        await held.opened;
      }
    });
    return { client, held, reached };
  };
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
  /** What the account's counters hold once its journal is folded (as the next scheduled fold would). */
  const counted = async (table: string) => {
    const store = new DynamoBillingStore(healthyClient(), table, { attemptCutoffMs: CUTOFF });
    await foldAccounts(["acme"], { journal: store.usage.journal, periods: store, clock: scenario.clock });
    return (await store.usage.countersOf("acme", "2025-07")).events;
  };
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
  it("a commit that lands but whose reply is lost: the SDK's retry and SQS's re-delivery both end in one count", async () => {
    for (const withinRetries of [true, false]) {
      const table = await freshTable();
      const batch = smsBatch(`commit-${withinRetries}`, 10);
      // The commit lands; the reply is lost. Inside the retry loop the SDK sends it again: refused
      // (the record exists), and found committed: its own. Outside, ingest sees the error, aborts
      // what it thinks uncommitted (refused: the commit record exists), the message returns to SQS
      // and comes again: a duplicate.
      const lost = faultyClient(scenario.system.endpoints.dynamodb, {
        mode: "once",
        failIf: isCommitPut,
        when: "after",
        withinRetries,
      });
      const r = await invocation(lost.client, table)(batch);
      expect(lost.fired()).toBe(true);
      expect(await counted(table), `within the SDK retries: ${withinRetries}`).toBe(10);
      await redeliver(table, batch, r.returned);
      expect(await counted(table), `within the SDK retries: ${withinRetries}`).toBe(10);
      expect(await lettersOf(table)).toBe(0);
    }
  });

  it("two invocations claim overlapping events at the same moment, some held by a dead attempt: each event counts once, both batches complete", async () => {
    const table = await freshTable();
    // A dead attempt left the claims of e20..e29 (it crashed before its commit).
    const crashed = faultyClient(scenario.system.endpoints.dynamodb, {
      mode: "crash",
      failIf: isCommitPut,
    });
    await invocation(crashed.client, table)(smsBatch("both", 10, 20));
    expect(await counted(table)).toBe(0);
    scenario.clock.advanceTo(scenario.clock.now() + CUTOFF + 1);
    const a = smsBatch("both", 40, 0); // e0..e39
    const b = smsBatch("both", 40, 20); // e20..e59
    // Both send their claims at the same moment, then their take-overs of the dead attempt's claims.
    const claims = meeting(2);
    const takeOvers = meeting(2);
    const racer = () => {
      const client = healthyClient();
      let claimed = false;
      let tookOver = false;
      beforeSend(client, async (command, input) => {
        if (command === "BatchExecuteStatementCommand" && !claimed) {
          claimed = true;
          await claims();
        }
        if (
          command === "UpdateItemCommand" &&
          String((input.ConditionExpression as string) ?? "").includes(":from") &&
          !tookOver
        ) {
          tookOver = true;
          await takeOvers();
        }
      });
      return client;
    };
    const [ra, rb] = await Promise.all([invocation(racer(), table)(a), invocation(racer(), table)(b)]);
    // Whatever one returned to the queue comes again and completes.
    await redeliver(table, a, ra.returned);
    await redeliver(table, b, rb.returned);
    expect(await counted(table)).toBe(60);
    expect(await lettersOf(table)).toBe(0);
  });

  it("a slow owner taken over after the cut-off: its late commit is refused, every event counts once", async () => {
    const table = await freshTable();
    const batch = smsBatch("slow", 10);
    // The owner stalls just before its commit.
    const { client: slowClient, held, reached } = stallingBeforeCommit();
    const slow = invocation(slowClient, table)(batch);
    await reached.opened;
    // Past the cut-off another invocation finds the claims, aborts the owner's attempt, takes over.
    scenario.clock.advanceTo(scenario.clock.now() + CUTOFF + 1);
    const other = await invocation(healthyClient(), table)(batch);
    expect(other.returned).toEqual([]);
    expect(other.outcomes).toMatchObject({ stored: 10 });
    held.open();
    const late = await slow;
    // The slow owner's transaction is refused (its commit record exists: aborted); its messages
    // return to the queue and come again as duplicates.
    expect(late.returned).toHaveLength(10);
    await redeliver(table, batch, late.returned);
    expect(await counted(table)).toBe(10);
  });

  /**
   * DynamoDB as AWS answers it: a failed conditional put (ReturnValuesOnConditionCheckFailure
   * ALL_OLD) carries the existing item on the error (`Item`), and so does a failed statement of a
   * BatchExecuteStatement. DynamoDB Local answers without it: the stand-in reads the item just after
   * the refusal and attaches it, and counts what it attached.
   */
  const awsLike = (client: DynamoDBClient, table: string) => {
    const attached = { statements: 0, puts: 0 };
    const read = async (key: Record<string, AttributeValue>) =>
      (await healthyClient().send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true })))
        .Item;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as {
          Statements?: { Parameters?: AttributeValue[]; ReturnValuesOnConditionCheckFailure?: string }[];
          Item?: Record<string, AttributeValue>;
          ReturnValuesOnConditionCheckFailure?: string;
        };
        if (context.commandName === "BatchExecuteStatementCommand") {
          const r = await next(args);
          const out = r.output as {
            Responses?: { Error?: { Code?: string; Item?: Record<string, AttributeValue> } }[];
          };
          await Promise.all(
            (out.Responses ?? []).map(async (x, i) => {
              const st = input.Statements?.[i];
              if (!x.Error || x.Error.Item || st?.ReturnValuesOnConditionCheckFailure !== "ALL_OLD") return;
              if (x.Error.Code !== "DuplicateItem" && x.Error.Code !== "ConditionalCheckFailed") return;
              const [pk, sk] = st.Parameters ?? [];
              const item = pk && sk ? await read({ pk, sk }) : undefined;
              if (item) {
                x.Error.Item = item;
                attached.statements += 1;
              }
            }),
          );
          return r;
        }
        if (
          context.commandName === "PutItemCommand" &&
          input.ReturnValuesOnConditionCheckFailure === "ALL_OLD"
        )
          try {
            return await next(args);
          } catch (e) {
            const item = input.Item;
            if ((e as { name?: string }).name === "ConditionalCheckFailedException" && item?.pk && item.sk) {
              const old = await read({ pk: item.pk, sk: item.sk });
              if (old) {
                (e as { Item?: unknown }).Item = old;
                attached.puts += 1;
              }
            }
            throw e;
          }
        return next(args);
      },
      { step: "initialize", name: "awsLikeItems" },
    );
    return attached;
  };

  it("error.Item as AWS answers: duplicates resolved from the refused claims (no read back), exact counts", async () => {
    const table = await freshTable();
    const batch = smsBatch("item", 30);
    await invocation(healthyClient(), table)(batch.slice(0, 20));
    const client = healthyClient();
    const attached = awsLike(client, table);
    const sent: string[] = [];
    beforeSend(client, (command, input) => {
      // Claims read back (BatchGetItem of ID# keys); the fold's own batch reads are not claims.
      if (command === "BatchGetItemCommand" && JSON.stringify(input).includes('"ID#'))
        sent.push("claims read");
    });
    const r = await invocation(client, table)(batch);
    expect(r.outcomes).toMatchObject({ stored: 10, duplicate: 20 });
    expect(attached.statements).toBe(20);
    // Every existing claim came with its refusal: none was read back.
    expect(sent).not.toContain("claims read");
    expect(await counted(table)).toBe(30);
  });

  it("error.Item as AWS answers: an owner that commits between the commit-state read and the abort is seen committed, not taken over", async () => {
    for (const aws of [true, false]) {
      const table = await freshTable();
      const batch = smsBatch(`abort-${aws}`, 10);
      // The owner stalls before its commit, past the cut-off.
      const { client: ownerClient, held, reached } = stallingBeforeCommit();
      const owner = invocation(ownerClient, table)(batch);
      await reached.opened;
      scenario.clock.advanceTo(scenario.clock.now() + CUTOFF + 1);
      // The other invocation read the owner's commit state (none); just before its abort, the
      // owner's commit lands.
      const otherClient = healthyClient();
      const attached = aws ? awsLike(otherClient, table) : undefined;
      let ownerDone: Promise<unknown> | undefined;
      beforeSend(otherClient, async (command, input) => {
        const pk = (input.Item as { pk?: { S?: string } } | undefined)?.pk?.S ?? "";
        if (command === "PutItemCommand" && pk.startsWith("COMMIT#") && !ownerDone) {
          held.open();
          ownerDone = owner;
          await ownerDone;
        }
      });
      const other = await invocation(otherClient, table)(batch);
      expect(ownerDone, "the abort was attempted").toBeDefined();
      if (attached) expect(attached.puts).toBeGreaterThan(0);
      expect(other.outcomes, `AWS-like answers: ${aws}`).toMatchObject({ stored: 0, duplicate: 10 });
      expect(await counted(table), `AWS-like answers: ${aws}`).toBe(10);
      const commit = await healthyClient().send(
        new GetItemCommand({
          TableName: table,
          Key: {
            pk: { S: `COMMIT#${(await claimOwner(table, "abort-" + aws + "-0")) ?? ""}` },
            sk: { S: "COMMIT" },
          },
        }),
      );
      expect(commit.Item?.s?.S).toBe("committed");
    }
  });

  const claimOwner = async (table: string, id: string) => {
    const { Item } = await healthyClient().send(
      new GetItemCommand({
        TableName: table,
        Key: identityClaimItem.av.key({ identity: JSON.stringify(["/gw", id]) }),
        ConsistentRead: true,
      }),
    );
    return Item && identityClaimItem.av.decode(Item).owner;
  };
});

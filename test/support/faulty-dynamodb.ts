/**
 * A real DynamoDB client (DynamoDB Local) with a middleware that fails chosen requests, to test what a
 * crash, a transient error or a lost reply between two writes leaves behind.
 * - `mode`: "once" fails only the chosen request (a transient error); "crash" fails it and every later
 *   one, as a process that died there.
 * - `when`: "before" (default) fails the request without sending it; "after" sends it — the write
 *   lands — and then fails it, as a reply lost on the way back (a connection reset after the commit).
 * - `withinRetries`: the failure sits inside the SDK's retry loop (after its retry middleware), so the
 *   SDK classifies and retries it as it would a real answer; by default it sits outside (initialize
 *   step), and the caller sees it at once.
 * - `error`: what the failure looks like (default a 503, as an outage answers).
 * - `rate`: instead of one request, each request fails with this probability (`random`), independently
 *   (fault-injection runs: e.g. 5 % of requests throttled).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

export interface FaultPlan {
  /** 1-based request number to fail; undefined: never. */
  failAt?: number;
  /** Or: fail the first request of this command (e.g. "TransactWriteItemsCommand"). */
  failCommand?: string;
  /** Or: fail the first request this predicate picks (e.g. an attempt's commit put). */
  failIf?: (command: string, input: Record<string, unknown>) => boolean;
  /** Or: fail each request with this probability. */
  rate?: number;
  /**
   * With `rate`: each statement of a BatchExecuteStatement that is not failed whole is also refused
   * with this probability, as DynamoDB throttles statements one by one (its Error in the response,
   * code ThrottlingError, the statement not applied).
   */
  statementRate?: number;
  random?: () => number;
  mode: "once" | "crash";
  when?: "before" | "after";
  withinRetries?: boolean;
  error?: (n: number, command: string) => Error;
  /** Options of the client (e.g. `maxAttempts`). */
  clientOptions?: { maxAttempts?: number };
}

export interface FaultyClient {
  readonly client: DynamoDBClient;
  /** Requests seen so far (failed ones included, SDK retries included when `withinRetries`). */
  readonly calls: string[];
  /** Whether the planned failure fired. */
  fired(): boolean;
  /** Failures injected so far (whole requests). */
  injected(): number;
  /** Statements refused one by one so far (`statementRate`). */
  injectedStatements(): number;
}

/** An attempt's commit record put as committed (usage/attempts.ts), for `failIf`. */
export const isCommitPut = (command: string, input: Record<string, unknown>): boolean => {
  const item = input.Item as { pk?: { S?: string }; s?: { S?: string } } | undefined;
  return (
    command === "PutItemCommand" && item?.pk?.S?.startsWith("COMMIT#") === true && item.s?.S === "committed"
  );
};

/** As an outage answers (503): the SDK and ingest take it as ours, not the sender's. */
export const unavailable = (n: number, command: string) =>
  Object.assign(new Error(`injected failure at DynamoDB request ${n} (${command})`), {
    name: "ServiceUnavailable",
    $fault: "server",
    $metadata: { httpStatusCode: 503 },
  });

/** As DynamoDB answers a throttled request (400 ThrottlingException; the SDK retries it with back-off). */
export const throttled = (n: number, command: string) =>
  Object.assign(new Error(`injected throttling at DynamoDB request ${n} (${command})`), {
    name: "ThrottlingException",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });

export function faultyClient(endpoint: string, plan: FaultPlan): FaultyClient {
  const client = new DynamoDBClient({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    ...plan.clientOptions,
  });
  const calls: string[] = [];
  let firedAt: number | undefined;
  let injected = 0;
  let injectedStatements = 0;
  const random = plan.random ?? Math.random;
  const makeError = plan.error ?? unavailable;
  const middleware =
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware signature is generic over every command
      (next: (args: any) => Promise<any>, context: { commandName?: string }) =>
      // biome-ignore lint/suspicious/noExplicitAny: as above
      async (args: any) => {
        const command = context.commandName ?? "?";
        calls.push(command);
        const n = calls.length;
        const hit =
          plan.rate !== undefined
            ? random() < plan.rate
            : firedAt === undefined &&
              (n === plan.failAt ||
                (plan.failCommand !== undefined && command === plan.failCommand) ||
                plan.failIf?.(command, args.input as Record<string, unknown>) === true);
        if (hit) firedAt ??= n;
        const fail = hit || (plan.mode === "crash" && firedAt !== undefined);
        if (!fail) return next(args);
        injected += 1;
        if (plan.when === "after") await next(args); // the request lands; its reply is lost
        throw makeError(n, command);
      };
  // Statements are picked before the request is serialized: those refused are never sent.
  if (plan.statementRate)
    client.middlewareStack.add(
      (next, context) => async (args) =>
        context.commandName === "BatchExecuteStatementCommand"
          ? throttleStatements(next, args, plan.statementRate ?? 0, random, () => {
              injectedStatements += 1;
            })
          : next(args),
      { step: "initialize", name: "throttleStatements" },
    );
  if (plan.withinRetries)
    client.middlewareStack.addRelativeTo(middleware, {
      relation: "after",
      toMiddleware: "retryMiddleware",
      name: "injectFailure",
    });
  else client.middlewareStack.add(middleware, { step: "initialize", name: "injectFailure" });
  return {
    client,
    calls,
    fired: () => firedAt !== undefined,
    injected: () => injected,
    injectedStatements: () => injectedStatements,
  };
}

/** Sends the statements not picked; answers the picked ones ThrottlingError, in their places. */
async function throttleStatements(
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware signature is generic over every command
  next: (args: any) => Promise<any>,
  // biome-ignore lint/suspicious/noExplicitAny: as above
  args: any,
  rate: number,
  random: () => number,
  counted: () => void,
) {
  const statements: unknown[] = args.input.Statements ?? [];
  const refused = statements.map(() => random() < rate);
  if (!refused.includes(true)) return next(args);
  const kept = statements.filter((_, i) => !refused[i]);
  const throttledEntry = () => {
    counted();
    return {
      Error: { Code: "ThrottlingError", Message: "Throughput exceeds the current capacity (injected)" },
    };
  };
  if (kept.length === 0)
    return {
      response: {},
      output: { $metadata: { httpStatusCode: 200 }, Responses: statements.map(throttledEntry) },
    };
  const r = await next({ ...args, input: { ...args.input, Statements: kept } });
  const answers: unknown[] = [...(r.output.Responses ?? [])];
  const Responses = refused.map((x) => (x ? throttledEntry() : answers.shift()));
  return { ...r, output: { ...r.output, Responses } };
}

/**
 * A real DynamoDB client (DynamoDB Local) with a middleware that fails the Nth request, to test
 * what a crash or a transient error between two writes leaves behind. "once" fails only that
 * request (a transient error); "crash" fails it and every later one, as a process that died there.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { dynamoClient } from "../../shared/runtime/wiring.js";

export interface FaultPlan {
  /** 1-based request number to fail; undefined: never. */
  failAt?: number;
  /** Or: fail the first request of this command (e.g. "TransactWriteItemsCommand"). */
  failCommand?: string;
  mode: "once" | "crash";
}

export interface FaultyClient {
  readonly client: DynamoDBClient;
  /** Requests seen so far (failed ones included), with their command names. */
  readonly calls: string[];
  /** Whether the planned failure fired. */
  fired(): boolean;
}

export function faultyClient(endpoint: string, plan: FaultPlan): FaultyClient {
  const client = dynamoClient({ region: "us-east-1", dynamodbEndpoint: endpoint });
  const calls: string[] = [];
  let firedAt: number | undefined;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? "?");
      const n = calls.length;
      const hit =
        firedAt === undefined &&
        (n === plan.failAt || (plan.failCommand !== undefined && context.commandName === plan.failCommand));
      if (hit) firedAt = n;
      if (hit || (plan.mode === "crash" && firedAt !== undefined))
        throw Object.assign(new Error(`injected failure at DynamoDB request ${n} (${context.commandName})`), {
          // As an outage answers (503): transient, so ingest returns the message to the queue.
          name: "ServiceUnavailable",
          $metadata: { httpStatusCode: 503 },
        });
      return next(args);
    },
    { step: "initialize", name: "injectFailure" },
  );
  return { client, calls, fired: () => firedAt !== undefined };
}

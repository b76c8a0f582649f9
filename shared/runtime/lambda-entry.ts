/**
 * The one entry every function in functions/ uses (issue 13): its environment is
 * parsed with the function's own schema once (at init in Lambda, so a bad configuration fails the
 * cold start, not an event); the SDK clients are made once and traced (Powertools Tracer: a
 * subsegment per AWS call); the handler is built once and wrapped in the two middlewares that do
 * something: the invocation's segment (Tracer) and the Lambda context on every log line (Logger).
 * Tracer is loaded only in Lambda: it brings the X-Ray SDK, whose async hook (cls-hooked) slows every
 * promise of the process about tenfold, and outside Lambda it would trace nothing (tests, local
 * stack, CLI: docs/performance.md).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import type { z } from "zod";
import type { baseEnvironmentSchema } from "./environment.js";
import { parseEnvironment } from "./environment.js";
import { SERVICE_NAME } from "./observability.js";
import { dynamoClient, type Endpoints, sqsClient } from "./wiring.js";

/** JSON log lines; LOG_LEVEL and POWERTOOLS_SERVICE_NAME (set by infra) are read from the environment. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME });
const inLambda = process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined;

/** X-Ray segments of the invocation and its AWS calls (active tracing is on in BillingFunction). */
async function loadTracing() {
  const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
    import("@aws-lambda-powertools/tracer"),
    import("@aws-lambda-powertools/tracer/middleware"),
  ]);
  const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME });
  return {
    traceClient: <C extends object>(client: C): C => tracer.captureAWSv3Client(client),
    middleware: captureLambdaHandler(tracer),
  };
}
const tracing = inLambda ? await loadTracing() : undefined;

/** The SDK clients a function's wiring uses; `trace` instruments any other client it makes. */
export interface AwsClients {
  readonly endpoints: Endpoints;
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly trace: <C extends object>(client: C) => C;
}

export function awsClients(
  env: z.infer<typeof baseEnvironmentSchema>,
  trace: <C extends object>(client: C) => C = (c) => c,
): AwsClients {
  const endpoints: Endpoints = {
    region: env.AWS_REGION,
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT,
    sqsEndpoint: env.SQS_ENDPOINT,
    s3Endpoint: env.S3_ENDPOINT,
  };
  return { endpoints, dynamo: trace(dynamoClient(endpoints)), sqs: trace(sqsClient(endpoints)), trace };
}

export type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * `handler` for a function: `build` gets the validated environment and the traced clients and
 * returns the invocation handler (a `create…Handler` factory applied to the wired dependencies).
 */
export function lambdaEntry<S extends typeof baseEnvironmentSchema, E, R>(
  schema: S,
  build: (env: z.infer<S>, clients: AwsClients) => (event: E, context: Context) => Promise<R>,
): LambdaHandler<E, R> {
  let built: LambdaHandler<E, R> | undefined;
  const init = () => {
    const env = parseEnvironment(schema);
    const clients = awsClients(env, tracing?.traceClient);
    const handler = middy(build(env, clients));
    if (tracing) handler.use(tracing.middleware);
    built = handler.use(injectLambdaContext(logger)) as unknown as LambdaHandler<E, R>;
    return built;
  };
  // In Lambda: at init, so a configuration error is a failed cold start with its message.
  if (inLambda) init();
  return (event, context) => (built ?? init())(event, context);
}

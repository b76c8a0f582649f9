/** Builds the adapters behind the ports, for Lambda (from the environment) or the local stack. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoBillingStore } from "../adapters/dynamodb/billing-table.js";
import { cachedAccountDirectory } from "../adapters/dynamodb/config-store.js";
import type { BillingConfig } from "../core/config.js";
import type { BlobStore } from "../ports/blob-store.js";
import type { Clock } from "../ports/clock.js";
import type { ExportObjects } from "../ports/export-objects.js";
import type { Environment } from "./environment.js";

export interface Endpoints {
  readonly region: string;
  readonly dynamodbEndpoint?: string | undefined;
  readonly sqsEndpoint?: string | undefined;
  readonly s3Endpoint?: string | undefined;
}

/** The endpoints the environment names (a local stack's; none in AWS, where the SDK finds them). */
export const endpointsOf = (
  env: Pick<Environment, "AWS_REGION" | "DYNAMODB_ENDPOINT" | "SQS_ENDPOINT" | "S3_ENDPOINT">,
): Endpoints => ({
  region: env.AWS_REGION,
  dynamodbEndpoint: env.DYNAMODB_ENDPOINT,
  sqsEndpoint: env.SQS_ENDPOINT,
  s3Endpoint: env.S3_ENDPOINT,
});

const localCredentials = { accessKeyId: "local", secretAccessKey: "local" };

export function dynamoClient(e: Endpoints): DynamoDBClient {
  return new DynamoDBClient({
    region: e.region,
    ...(e.dynamodbEndpoint ? { endpoint: e.dynamodbEndpoint, credentials: localCredentials } : {}),
  });
}

export function sqsClient(e: Endpoints): SQSClient {
  return new SQSClient({
    region: e.region,
    ...(e.sqsEndpoint ? { endpoint: e.sqsEndpoint, credentials: localCredentials } : {}),
  });
}

/** Instruments an AWS client (Powertools Tracer in Lambda); by default the client as it is. */
type Trace = <C extends object>(client: C) => C;
const untraced: Trace = (c) => c;

/**
 * Opens an adapter of the exports bucket on first use, when a bucket is configured (EXPORTS_BUCKET):
 * the S3 client and its module are loaded then, so no cold start or command that never needs them
 * pays for them.
 */
function openOnFirstUse<T>(
  bucket: string | undefined,
  open: (bucket: string) => Promise<T>,
): (() => Promise<T>) | undefined {
  if (!bucket) return undefined;
  let adapter: Promise<T> | undefined;
  return () => {
    adapter ??= open(bucket);
    return adapter;
  };
}

/** The exports bucket as a blob store (only large dead letters need it). */
export function blobStore(e: Endpoints, bucket: string | undefined, trace = untraced): BlobStore | undefined {
  const open = openOnFirstUse(bucket, async (b) => {
    const { S3BlobStore, s3Client } = await import("../adapters/s3/blob-store.js");
    return new S3BlobStore(trace(s3Client(e)), b);
  });
  return (
    open && {
      put: async (key, body) => (await open()).put(key, body),
      get: async (key) => (await open()).get(key),
    }
  );
}

/** The exports bucket by period as the close writes it. */
export function exportObjects(
  e: Endpoints,
  bucket: string | undefined,
  trace = untraced,
): ExportObjects | undefined {
  const open = openOnFirstUse(bucket, async (b) => {
    const [{ S3ExportObjects }, { s3Client }] = await Promise.all([
      import("../adapters/s3/export-objects.js"),
      import("../adapters/s3/blob-store.js"),
    ]);
    return new S3ExportObjects(trace(s3Client(e)), b);
  });
  return (
    open && { write: async (key, chunks, contentType) => (await open()).write(key, chunks, contentType) }
  );
}

/**
 * The ports every use case needs, all served by the one DynamoDB table (ingest and close alike).
 * `configCacheMs`: how long a container may use an account or tariff it read (0: once per batch).
 */
export function storeDeps(
  store: DynamoBillingStore,
  clock: Clock,
  config: () => Promise<BillingConfig>,
  opts: { configCacheMs?: number; blobs?: BlobStore | undefined; exports?: ExportObjects | undefined } = {},
) {
  return {
    usage: store.usage,
    periods: store,
    deadLetters: store,
    explanations: store,
    clock,
    config,
    accounts: cachedAccountDirectory(store.configs, clock, opts.configCacheMs ?? 0),
    unclosed: store.unclosed,
    lateConflicts: store.lateConflicts,
    ...(opts.blobs ? { blobs: opts.blobs } : {}),
    ...(opts.exports ? { exports: { objects: opts.exports, index: store } } : {}),
  };
}

/** Configuration cached for `cacheMs` of the given clock (a new tariff reaches warm Lambdas within it). */
export function cachedConfig(
  store: DynamoBillingStore,
  clock: Clock,
  cacheMs: number,
): () => Promise<BillingConfig> {
  let cached: { at: number; config: Promise<BillingConfig> } | undefined;
  return () => {
    const now = clock.now();
    if (!cached || cacheMs === 0 || now - cached.at > cacheMs || now < cached.at) {
      const config = store.loadConfig();
      cached = { at: now, config };
      config.catch(() => {
        cached = undefined;
      });
    }
    return cached.config;
  };
}

/**
 * Lambda and CLI configuration, read once and validated at start-up. Every function's schema is
 * the base (table, region, local endpoints, caches) extended with what that function needs, so a
 * variable a function cannot run without is required by its own schema, not checked by hand.
 */
import { z } from "zod";
import {
  DEFAULT_CLOSE_GRACE_HOURS,
  DEFAULT_CLOSE_OVERDUE_HOURS,
  MAX_CLOSE_GRACE_HOURS,
} from "../core/close-schedule.js";
import { BillingError } from "../core/errors.js";

/** What every billing function reads: the table, the region, local endpoints and caches. */
export const baseEnvironmentSchema = z.object({
  BILLING_TABLE: z.string().min(1),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  /** Only for the local stack; Lambda uses the regional endpoints. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  SQS_ENDPOINT: z.string().url().optional(),
  /** The local stack serves S3 on its SQS endpoint (fauxqs). */
  S3_ENDPOINT: z.string().url().optional(),
  /** How long a warm container may use an account or tariff it read. */
  CONFIG_CACHE_SECONDS: z.coerce.number().int().min(0).default(60),
});

const url = z.string().url();
/** Hours after a period's end in the account's zone before the scheduler closes it. */
const closeGraceHours = z.coerce
  .number()
  .int()
  .min(0)
  .max(MAX_CLOSE_GRACE_HOURS)
  .default(DEFAULT_CLOSE_GRACE_HOURS);

/**
 * Ingest: the function's own timeout (set by infra from the function's configuration), from which
 * the take-over cut-off of a dead attempt's claims is derived (usage-store.ts attemptCutoffMsFor);
 * large dead letters to EXPORTS_BUCKET.
 */
export const ingestEnvironmentSchema = baseEnvironmentSchema.extend({
  EXPORTS_BUCKET: z.string().min(1).optional(),
  /** Lambda allows 1..900 s. */
  INGEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(900).default(30),
  /** No longer a setting: refused, so that nobody believes a value of it is in force. */
  ATTEMPT_CUTOFF_SECONDS: z
    .undefined({
      error: "no longer a setting: the take-over cut-off is derived from INGEST_TIMEOUT_SECONDS",
    })
    .optional(),
});
/** The close scheduler sends to the close queue and reports accounts overdue. */
export const closeSchedulerEnvironmentSchema = baseEnvironmentSchema.extend({
  CLOSE_QUEUE_URL: url,
  CLOSE_GRACE_HOURS: closeGraceHours,
  /** A period not closed this many hours after its end in the account's zone is overdue. */
  CLOSE_OVERDUE_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_CLOSE_GRACE_HOURS)
    .default(DEFAULT_CLOSE_OVERDUE_HOURS),
  /** Set: each run rewrites the manifests of the periods whose exports changed. */
  EXPORTS_BUCKET: z.string().min(1).optional(),
});
/**
 * The close worker's memory as deployed (infra/constructs/period-close.ts): the Lambda reads its
 * own from AWS_LAMBDA_FUNCTION_MEMORY_SIZE, the local stack and a worker run outside Lambda use this.
 */
export const CLOSE_WORKER_MEMORY_MB = 1024;

/** The close worker writes each close's objects to the exports bucket by period when set. */
export const closeWorkerEnvironmentSchema = baseEnvironmentSchema.extend({
  EXPORTS_BUCKET: z.string().min(1).optional(),
  /** Set by Lambda: the function's memory, from which the closes' memory budget is derived. */
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: z.coerce.number().int().min(128).default(CLOSE_WORKER_MEMORY_MB),
  /** Overrides the derived budget (MB the batch's closes may hold together; close-budget.ts). */
  CLOSE_MEMORY_BUDGET_MB: z.coerce.number().positive().optional(),
});
/** Redrive sends to the usage queue and reads the DLQ and the offloaded bodies. */
export const deadLetterEnvironmentSchema = baseEnvironmentSchema.extend({
  USAGE_QUEUE_URL: url,
  USAGE_DLQ_URL: url.optional(),
  EXPORTS_BUCKET: z.string().min(1).optional(),
});
/** The Metering API and the Entra ID secret; without the secret calls carry no token (local). */
export const marketplaceEnvironmentSchema = baseEnvironmentSchema.extend({
  MARKETPLACE_API_URL: url,
  MARKETPLACE_CREDENTIALS_SECRET_ARN: z.string().min(1).optional(),
  ENTRA_AUTHORITY: url.optional(),
  /** The stage's Entra tenant and application (the secret then may hold only the client secret). */
  ENTRA_TENANT_ID: z.string().min(1).optional(),
  ENTRA_CLIENT_ID: z.string().min(1).optional(),
});

/**
 * The usage fold aborts dead attempts past the same cut-off as ingest's take-over, derived from the
 * ingest function's timeout (the stack passes it). Its cadence: a shard is folded when its last run
 * is FOLD_MAX_LAG_SECONDS old (how stale a preview or the finance API's month-to-date usage may be,
 * plus the minute's tick), or earlier when its journals since then hold FOLD_VOLUME_EVENTS events.
 */
export const usageFoldEnvironmentSchema = baseEnvironmentSchema.extend({
  INGEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(900).default(30),
  FOLD_MAX_LAG_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  FOLD_VOLUME_EVENTS: z.coerce.number().int().min(1).default(100_000),
});

/** The finance API reads the table (and, through the exports port, the bucket by period). */
export const financeApiEnvironmentSchema = baseEnvironmentSchema;

/** Everything the CLI may be given (a configured stack, README): the base and every optional part. */
const environmentSchema = ingestEnvironmentSchema.extend({
  USAGE_QUEUE_URL: url.optional(),
  USAGE_DLQ_URL: url.optional(),
  /** The close queue: `billing close` sends to it when set. */
  CLOSE_QUEUE_URL: url.optional(),
  CLOSE_GRACE_HOURS: closeGraceHours,
});
export type Environment = z.infer<typeof environmentSchema>;

export class ConfigurationError extends BillingError {
  override readonly name = "ConfigurationError";
}

/** What each variable is, said to whoever has to set it. */
const MEANING: Readonly<Record<string, string>> = {
  BILLING_TABLE: "the DynamoDB table's name",
  AWS_REGION: "the AWS region",
  DYNAMODB_ENDPOINT: "DynamoDB's URL, for a local stack",
  SQS_ENDPOINT: "the SQS server's URL, for a local stack",
  S3_ENDPOINT: "the S3 server's URL, for a local stack",
  USAGE_QUEUE_URL: "the usage queue's URL",
  USAGE_DLQ_URL: "the usage dead-letter queue's URL",
  CLOSE_QUEUE_URL: "the close queue's URL",
  EXPORTS_BUCKET: "the exports bucket's name",
  MARKETPLACE_API_URL: "the Marketplace Metering API's URL",
  ENTRA_AUTHORITY: "the Entra ID authority's URL",
};

/**
 * One sentence per variable at fault, in the operator's terms ("BILLING_TABLE is not set"), never
 * the schema library's wording: the person reading it sets variables, not schemas.
 */
function describeIssue(issue: z.core.$ZodIssue, env: NodeJS.ProcessEnv): string {
  const name = issue.path.map(String).join(".");
  const value = env[name];
  const what = MEANING[name] ? ` (${MEANING[name]})` : "";
  if (value === undefined) return `${name} is not set${what}`;
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  switch (issue.code) {
    case "invalid_format":
      return issue.format === "url"
        ? `${name} must be a URL such as http://127.0.0.1:4566, not ${shown}${what}`
        : `${name} is not a valid ${issue.format}: ${shown}`;
    case "too_small":
      return value === ""
        ? `${name} is empty${what}`
        : `${name} must be at least ${issue.minimum}, not ${shown}`;
    case "too_big":
      return `${name} must be at most ${issue.maximum}, not ${shown}`;
    case "invalid_type":
      // A variable that must not be set (a retired setting) says why in its schema's own message.
      if (issue.expected === "undefined") return `${name}: ${issue.message}`;
      return `${name} must be ${issue.expected === "int" ? "a whole number" : `a ${issue.expected}`}, not ${shown}`;
    default:
      return `${name} is not valid: ${shown}`;
  }
}

/** Parses the environment with a schema; a refusal names every variable at fault, in plain words. */
export function parseEnvironment<S extends z.ZodTypeAny>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const r = schema.safeParse(env);
  if (!r.success)
    throw new ConfigurationError(
      `missing or invalid configuration: ${r.error.issues.map((i) => describeIssue(i, env)).join("; ")}`,
    );
  return r.data;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  return parseEnvironment(environmentSchema, env);
}

/**
 * Lambda and CLI configuration, read once and validated at start-up. Every function's schema is
 * the base (table, region, local endpoints, caches) extended with what that function needs, so a
 * variable a function cannot run without is required by its own schema, not checked by hand.
 */
import { z } from "zod";
import { MAX_CLOSE_GRACE_HOURS } from "../core/close-schedule.js";
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
/** Hours after a period's end in the account's zone before the scheduler closes it (D15). */
const closeGraceHours = z.coerce.number().int().min(0).max(MAX_CLOSE_GRACE_HOURS).default(2);

/** Ingest: claims taken over after ATTEMPT_CUTOFF_SECONDS; large dead letters to EXPORTS_BUCKET (D12). */
export const ingestEnvironmentSchema = baseEnvironmentSchema.extend({
  EXPORTS_BUCKET: z.string().min(1).optional(),
  /** An ingest attempt older than this is dead: its claims are taken over (usage-store.ts). */
  ATTEMPT_CUTOFF_SECONDS: z.coerce.number().int().min(1).default(120),
});
/** The close scheduler sends to the close queue (D15) and reports accounts overdue (D28). */
export const closeSchedulerEnvironmentSchema = baseEnvironmentSchema.extend({
  CLOSE_QUEUE_URL: url,
  CLOSE_GRACE_HOURS: closeGraceHours,
  /** A period not closed this many hours after its end in the account's zone is overdue (D28). */
  CLOSE_OVERDUE_HOURS: z.coerce.number().int().min(1).max(MAX_CLOSE_GRACE_HOURS).default(6),
  /** Set: each run rewrites the manifests of the periods whose exports changed (D25). */
  EXPORTS_BUCKET: z.string().min(1).optional(),
});
/** The close worker writes each close's objects to the exports bucket by period (D25) when set. */
export const closeWorkerEnvironmentSchema = baseEnvironmentSchema.extend({
  EXPORTS_BUCKET: z.string().min(1).optional(),
  /** Set by Lambda: the function's memory, from which the closes' memory budget is derived. */
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: z.coerce.number().int().min(128).default(1024),
  /** Overrides the derived budget (MB the batch's closes may hold together; close-budget.ts). */
  CLOSE_MEMORY_BUDGET_MB: z.coerce.number().positive().optional(),
});
/** Redrive sends to the usage queue and reads the DLQ and the offloaded bodies. */
export const deadLetterEnvironmentSchema = baseEnvironmentSchema.extend({
  USAGE_QUEUE_URL: url,
  USAGE_DLQ_URL: url.optional(),
  EXPORTS_BUCKET: z.string().min(1).optional(),
});
/** The Metering API and the Entra ID secret (D19); without the secret calls carry no token (local). */
export const marketplaceEnvironmentSchema = baseEnvironmentSchema.extend({
  MARKETPLACE_API_URL: url,
  MARKETPLACE_CREDENTIALS_SECRET_ARN: z.string().min(1).optional(),
  ENTRA_AUTHORITY: url.optional(),
});

/** The finance API reads the table (and, through the exports port, the bucket by period). */
export const financeApiEnvironmentSchema = baseEnvironmentSchema;

/** Everything the CLI may be given (a configured stack, README): the base and every optional part. */
const environmentSchema = ingestEnvironmentSchema.extend({
  USAGE_QUEUE_URL: url.optional(),
  USAGE_DLQ_URL: url.optional(),
  /** The close queue (decisions D15): `billing close` sends to it when set. */
  CLOSE_QUEUE_URL: url.optional(),
  CLOSE_GRACE_HOURS: closeGraceHours,
});
export type Environment = z.infer<typeof environmentSchema>;

export class ConfigurationError extends BillingError {
  override readonly name = "ConfigurationError";
}

/** Parses the environment with a schema; a refusal names every variable at fault. */
export function parseEnvironment<S extends z.ZodTypeAny>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const r = schema.safeParse(env);
  if (!r.success)
    throw new ConfigurationError(
      `invalid environment: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return r.data;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  return parseEnvironment(environmentSchema, env);
}

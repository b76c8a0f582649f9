/** Lambda configuration, read once and validated at start-up. */
import { z } from "zod";
import { BillingError } from "../core/errors.js";

const environmentSchema = z.object({
  BILLING_TABLE: z.string().min(1),
  USAGE_QUEUE_URL: z.string().url().optional(),
  USAGE_DLQ_URL: z.string().url().optional(),
  /** The close queue (decisions D15): the scheduler and `billing close` send to it, the close worker consumes it. */
  CLOSE_QUEUE_URL: z.string().url().optional(),
  /** Hours after a period's end in the account's zone before the scheduler closes it (D15). */
  CLOSE_GRACE_HOURS: z.coerce.number().int().min(0).max(240).default(2),
  /** The exports bucket: whole bodies of dead letters too large for their item (D12). */
  EXPORTS_BUCKET: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  /** Only for the local stack; Lambda uses the regional endpoints. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  SQS_ENDPOINT: z.string().url().optional(),
  /** The local stack serves S3 on its SQS endpoint (fauxqs). */
  S3_ENDPOINT: z.string().url().optional(),
  CONFIG_CACHE_SECONDS: z.coerce.number().int().min(0).default(60),
  /** An ingest attempt older than this is dead: its claims are taken over (usage-store.ts). */
  ATTEMPT_CUTOFF_SECONDS: z.coerce.number().int().min(1).default(120),
});
export type Environment = z.infer<typeof environmentSchema>;

export class ConfigurationError extends BillingError {
  override readonly name = "ConfigurationError";
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const r = environmentSchema.safeParse(env);
  if (!r.success)
    throw new ConfigurationError(
      `invalid environment: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return r.data;
}

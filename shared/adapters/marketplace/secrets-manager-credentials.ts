/**
 * The publisher's Entra ID credentials for the Marketplace Metering API, read from AWS Secrets
 * Manager: the secret `MarketplaceCredentials` holds the JSON
 * `{ "tenantId": "…", "clientId": "…", "clientSecret": "…" }`; the reporter gets its ARN in
 * MARKETPLACE_CREDENTIALS_SECRET_ARN. A stage may name the tenant and the application itself
 * (ENTRA_TENANT_ID, ENTRA_CLIENT_ID): the secret may then hold only `clientSecret`, and a secret
 * naming another tenant or application is refused (it belongs to another stage or publisher).
 * Read when a token is first needed and again after a 401
 * (a rotated secret); the values are never logged (errors name the secret and the field only).
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import type { EntraCredentials } from "./http-metering-client.js";

const credentialsSchema = z.object({
  tenantId: z.string().min(1),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
});

/** The tenant and application the stage names (its environment), when it names them. */
export interface KnownEntraApplication {
  readonly tenantId?: string | undefined;
  readonly clientId?: string | undefined;
}

/** Parses the secret's JSON; the message never contains its values. */
export function parseMarketplaceCredentials(
  secretString: string | undefined,
  secretId: string,
  known: KnownEntraApplication = {},
): EntraCredentials {
  let json: unknown;
  try {
    json = JSON.parse(secretString ?? "");
  } catch {
    throw new Error(`secret ${secretId}: not JSON with tenantId, clientId and clientSecret`);
  }
  if (json && typeof json === "object")
    for (const field of ["tenantId", "clientId"] as const) {
      const given = known[field];
      const inSecret = (json as Record<string, unknown>)[field];
      if (given === undefined) continue;
      if (inSecret !== undefined && inSecret !== given)
        throw new Error(
          `secret ${secretId}: its ${field} is not the stage's (another stage's or publisher's secret?)`,
        );
      json = { ...(json as Record<string, unknown>), [field]: given };
    }
  const parsed = credentialsSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `secret ${secretId}: missing or empty ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`,
    );
  return parsed.data;
}

/** A credentials source reading the secret on each call (the token provider caches). */
export function secretsManagerCredentials(
  secretId: string,
  client?: () => Promise<Pick<SecretsManagerClient, "send">>,
  known: KnownEntraApplication = {},
): () => Promise<EntraCredentials> {
  const clientOf =
    client ??
    (async () => {
      // Loaded on first use: no cold start pays for it until a token is needed.
      const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
      return new SecretsManagerClient({});
    });
  let shared: Promise<Pick<SecretsManagerClient, "send">> | undefined;
  return async () => {
    shared ??= clientOf();
    const { GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
    const out = await (await shared).send(new GetSecretValueCommand({ SecretId: secretId }));
    return parseMarketplaceCredentials(out.SecretString, secretId, known);
  };
}

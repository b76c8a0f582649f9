/**
 * The Microsoft Marketplace Metering API over HTTPS (fetch): POST
 * {baseUrl}/api/batchUsageEvent?api-version=2018-08-31 with `{ "request": [...] }`, at most 25
 * events, headers Content-Type, x-ms-requestid (one GUID per call), x-ms-correlationid (one per
 * client, i.e. per reporter run) and `authorization: Bearer <token>` when a token provider is given
 * (none against the local emulator).
 *
 * A 200 answer lists one result per event with its status; results are matched to the events by
 * resource, dimension and hour (not by position). Anything else — network error, timeout, HTTP
 * 4xx/5xx, an unreadable body or a missing result — throws MeteringCallError: the caller must
 * assume nothing was accepted and send the same events again later (a Duplicate answer then tells
 * it what was accepted meanwhile).
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { MAX_EVENTS_PER_BATCH } from "../../core/marketplace/usage.js";
import {
  type MarketplaceMeteringClient,
  MeteringCallError,
  type UsageEventRequest,
  type UsageEventResult,
} from "../../ports/marketplace.js";

export const METERING_API_VERSION = "2018-08-31";
/** The Entra ID resource the Marketplace metering API tokens are issued for (Microsoft's documented value). */
export const MARKETPLACE_TOKEN_RESOURCE = "20e940b3-4c77-4b0b-9a53-9e16a1b010a7";

export type TokenProvider = () => Promise<string | undefined>;

export interface HttpMeteringClientOptions {
  /** e.g. https://marketplaceapi.microsoft.com, or the local emulator's URL. */
  readonly baseUrl: string;
  readonly token?: TokenProvider;
  readonly fetch?: typeof fetch;
  /** Per call; default 30 s. */
  readonly timeoutMs?: number;
  /** Correlates every call of this client (default: a new GUID). */
  readonly correlationId?: string;
}

const eventEcho = {
  resourceId: z.string().optional(),
  planId: z.string().optional(),
  dimension: z.string().optional(),
  quantity: z.number().optional(),
  effectiveStartTime: z.string().optional(),
};
const resultSchema = z.object({
  status: z.string(),
  usageEventId: z.string().optional(),
  messageTime: z.string().optional(),
  ...eventEcho,
  error: z
    .object({
      code: z.string().optional(),
      message: z.string().optional(),
      additionalInfo: z
        .object({
          acceptedMessage: z
            .object({ usageEventId: z.string().optional(), status: z.string().optional(), ...eventEcho })
            .optional(),
        })
        .optional(),
    })
    .optional(),
});
const batchResponseSchema = z.object({ count: z.number().optional(), result: z.array(resultSchema) });
type RawResult = z.infer<typeof resultSchema>;

/** Instant of an effectiveStartTime; Microsoft echoes UTC times without a zone designator. */
function instantOf(time: string | undefined): number {
  if (time === undefined) return Number.NaN;
  return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(time) ? time : `${time}Z`);
}
const hourOf = (time: string | undefined) => Math.floor(instantOf(time) / 3_600_000);
const matches = (e: UsageEventRequest, r: RawResult) =>
  r.resourceId === e.resourceId &&
  r.dimension === e.dimension &&
  hourOf(r.effectiveStartTime) === hourOf(e.effectiveStartTime);

function toResult(r: RawResult): UsageEventResult {
  const earlier = r.error?.additionalInfo?.acceptedMessage;
  const acceptedQuantity =
    r.status === "Accepted" ? r.quantity : r.status === "Duplicate" ? earlier?.quantity : undefined;
  const usageEventId = r.usageEventId ?? earlier?.usageEventId;
  return {
    status: r.status,
    ...(usageEventId !== undefined ? { usageEventId } : {}),
    ...(r.messageTime !== undefined ? { messageTime: r.messageTime } : {}),
    ...(acceptedQuantity !== undefined ? { acceptedQuantity } : {}),
    ...(r.error
      ? {
          error: {
            ...(r.error.code !== undefined ? { code: r.error.code } : {}),
            ...(r.error.message !== undefined ? { message: r.error.message } : {}),
          },
        }
      : {}),
  };
}

export class HttpMeteringClient implements MarketplaceMeteringClient {
  private readonly fetch: typeof fetch;
  private readonly correlationId: string;
  constructor(private readonly opts: HttpMeteringClientOptions) {
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.correlationId = opts.correlationId ?? randomUUID();
  }

  async submitBatch(events: readonly UsageEventRequest[]): Promise<UsageEventResult[]> {
    if (events.length === 0) return [];
    if (events.length > MAX_EVENTS_PER_BATCH)
      throw new RangeError(`at most ${MAX_EVENTS_PER_BATCH} usage events per batch, got ${events.length}`);
    const url = new URL(
      "api/batchUsageEvent",
      this.opts.baseUrl.endsWith("/") ? this.opts.baseUrl : `${this.opts.baseUrl}/`,
    );
    url.searchParams.set("api-version", METERING_API_VERSION);
    const requestId = randomUUID();
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "x-ms-requestid": requestId,
      "x-ms-correlationid": this.correlationId,
    };
    let response: Response;
    let text: string;
    try {
      const token = await this.opts.token?.();
      if (token) headers.authorization = `Bearer ${token}`;
      response = await this.fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ request: events }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
      text = await response.text();
    } catch (e) {
      throw new MeteringCallError(
        `batchUsageEvent ${requestId}: no answer: ${(e as Error).message ?? String(e)}`,
      );
    }
    if (response.status !== 200)
      throw new MeteringCallError(
        `batchUsageEvent ${requestId}: HTTP ${response.status}: ${text.slice(0, 500)}`,
        response.status,
      );
    let results: RawResult[];
    try {
      results = batchResponseSchema.parse(JSON.parse(text)).result;
    } catch (e) {
      throw new MeteringCallError(
        `batchUsageEvent ${requestId}: unreadable answer (${(e as Error).message.slice(0, 200)}): ${text.slice(0, 300)}`,
        response.status,
      );
    }
    const unused = new Set(results.keys());
    return events.map((e, i) => {
      let found: number | undefined;
      for (const j of unused)
        if (matches(e, results[j]!)) {
          found = j;
          break;
        }
      // An answer that does not echo the event can only be matched by position.
      const positional = results[i];
      if (found === undefined && positional && unused.has(i) && positional.resourceId === undefined)
        found = i;
      if (found === undefined)
        throw new MeteringCallError(
          `batchUsageEvent ${requestId}: no result for ${e.resourceId}/${e.dimension}/${e.effectiveStartTime}`,
          response.status,
        );
      unused.delete(found);
      return toResult(results[found]!);
    });
  }
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().optional(),
});

/**
 * Microsoft Entra ID client-credentials token for the metering API (POST
 * https://login.microsoftonline.com/{tenantId}/oauth2/token), cached until 5 minutes before expiry.
 */
export function entraTokenProvider(opts: {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}): TokenProvider {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const now = opts.now ?? Date.now;
  let cached: { token: string; until: number } | undefined;
  return async () => {
    if (cached && now() < cached.until) return cached.token;
    const res = await doFetch(
      `https://login.microsoftonline.com/${encodeURIComponent(opts.tenantId)}/oauth2/token`,
      {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: opts.clientId,
          client_secret: opts.clientSecret,
          resource: MARKETPLACE_TOKEN_RESOURCE,
        }).toString(),
        signal: AbortSignal.timeout(30_000),
      },
    );
    const text = await res.text();
    if (!res.ok) throw new Error(`Entra ID token request failed: HTTP ${res.status}: ${text.slice(0, 300)}`);
    const body = tokenResponseSchema.parse(JSON.parse(text));
    cached = { token: body.access_token, until: now() + Math.max(0, (body.expires_in ?? 3600) - 300) * 1000 };
    return cached.token;
  };
}

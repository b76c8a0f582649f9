/**
 * The Microsoft Marketplace Metering API 2018-08-31 over HTTPS (fetch), as Microsoft's OpenAPI
 * (`microsoft/commercial-marketplace-openapi`, Microsoft.Marketplace.Metering/2018-08-31/meteringapi.v1.json)
 * describes it and as the real service answers:
 * - more than one event: POST {baseUrl}/api/batchUsageEvent?api-version=2018-08-31 with
 *   `{ "request": [...] }` (at most 25), answered 200 `{ count, result: [...] }`;
 * - one event: POST {baseUrl}/api/usageEvent?api-version=2018-08-31, answered 200 (the event),
 *   409 (a Duplicate: `additionalInfo.acceptedMessage` is the event accepted earlier) or 400
 *   (`{ code, message, target, details: [{ code, message, target }] }`);
 * headers Content-Type, x-ms-requestid (one GUID per call), x-ms-correlationid (one per client) and
 * `authorization: Bearer <token>` when a token provider is given (none against the local API).
 *
 * Answers as the real service gives them: each refused batch item carries `error.code: "BadArgument"`
 * with the field in `error.details[].target`, so an item's meaning is its `status` only
 * (core/marketplace/statuses.ts); echoed `effectiveStartTime`s have no zone (UTC); quantities are
 * doubles (`9.0`, `9.1234567890123461`); a `resourceUri` is echoed even for SaaS resources.
 * Results are matched to requests by resource (resourceId, or resourceUri when the item echoes no
 * resourceId), dimension and hour, and checked on the quantity compared as a decimal at the
 * precision sent — never by position alone.
 *
 * Retries: 429, 408, 5xx, timeouts and connection errors are retried with exponential backoff
 * and full jitter, honouring Retry-After, while the call's deadline (the run's time budget) allows;
 * a 401 drops the cached token (the credentials are re-read) and is retried once. Anything else, or
 * a retryable failure past the budget, throws MeteringCallError: the caller must assume nothing was
 * accepted and send the same events later (an event the Marketplace did take comes back Duplicate).
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { MAX_EVENTS_PER_BATCH } from "../../core/marketplace/usage.js";
import { dec } from "../../core/money.js";
import { HOUR } from "../../core/time.js";
import {
  type MarketplaceMeteringClient,
  MeteringCallError,
  type MeteringCallOptions,
  type TokenProvider,
  type UsageEventRequest,
  type UsageEventResult,
} from "../../ports/marketplace.js";

export const METERING_API_VERSION = "2018-08-31";
/** The Entra ID resource the Marketplace metering API tokens are issued for (Microsoft's documented value). */
export const MARKETPLACE_TOKEN_RESOURCE = "20e940b3-4c77-4b0b-9a53-9e16a1b010a7";

export interface RetryPolicy {
  /** Calls in all, the first included (default 6). */
  readonly maxAttempts?: number;
  /** First backoff ceiling (default 1 s), doubled per attempt up to maxDelayMs (default 30 s). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

export interface HttpMeteringClientOptions {
  /** e.g. https://marketplaceapi.microsoft.com, or the local Metering API's URL. */
  readonly baseUrl: string;
  readonly token?: TokenProvider;
  readonly fetch?: typeof fetch;
  /** Per call; default 30 s. */
  readonly timeoutMs?: number;
  /** Correlates every call of this client (default: a new GUID). */
  readonly correlationId?: string;
  readonly retry?: RetryPolicy;
  /** Injected for tests: waiting between attempts, randomness of the jitter, the real clock. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
  /** One event goes to /usageEvent (default true); false sends it as a batch of one. */
  readonly singleEventEndpoint?: boolean;
}

const num = z.number();
const eventEcho = {
  resourceId: z.string().optional(),
  resourceUri: z.string().optional(),
  planId: z.string().optional(),
  dimension: z.string().optional(),
  quantity: num.optional(),
  effectiveStartTime: z.string().optional(),
};
const okMessageSchema = z.object({
  usageEventId: z.string().optional(),
  status: z.string(),
  messageTime: z.string().optional(),
  ...eventEcho,
});
const detailSchema = z.object({
  code: z.string().optional(),
  message: z.string().optional(),
  target: z.string().optional(),
});
const errorSchema = z.object({
  code: z.string().optional(),
  message: z.string().optional(),
  target: z.string().optional(),
  details: z.array(detailSchema).optional(),
  additionalInfo: z.object({ acceptedMessage: okMessageSchema.partial().optional() }).optional(),
});
const resultSchema = okMessageSchema.extend({ error: errorSchema.optional() });
const batchResponseSchema = z.object({ count: z.number().optional(), result: z.array(resultSchema) });
type RawResult = z.infer<typeof resultSchema>;
type RawError = z.infer<typeof errorSchema>;

/** Instant of an effectiveStartTime; Microsoft echoes UTC times without a zone designator. */
export function instantOfMeteringTime(time: string | undefined): number {
  if (time === undefined) return Number.NaN;
  return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(time) ? time : `${time}Z`);
}
const hourOf = (time: string | undefined) => Math.floor(instantOfMeteringTime(time) / HOUR);

/** Decimal places of a number as JSON writes it (`1.25` → 2, `1e-7` → 7). */
function decimalPlaces(q: number): number {
  return dec(String(q)).decimalPlaces();
}

/**
 * Whether the echoed quantity is the one sent, compared as decimals at the precision sent (the
 * service stores doubles: 9.123456789012346 comes back 9.1234567890123461).
 */
export function sameQuantity(sent: number, echoed: number): boolean {
  const places = decimalPlaces(sent);
  return dec(String(echoed))
    .toDecimalPlaces(places)
    .equals(dec(String(sent)));
}

const resourceOf = (e: UsageEventRequest) => e.resourceId ?? e.resourceUri;
const sameResource = (e: UsageEventRequest, r: { resourceId?: string; resourceUri?: string }) =>
  r.resourceId !== undefined
    ? r.resourceId === resourceOf(e)
    : r.resourceUri !== undefined && r.resourceUri === (e.resourceUri ?? e.resourceId);
const sameKey = (e: UsageEventRequest, r: RawResult) =>
  sameResource(e, r) &&
  r.dimension === e.dimension &&
  hourOf(r.effectiveStartTime) === hourOf(e.effectiveStartTime);

/** The human part of an error: the details' messages (with their targets), else its message. */
function errorText(error: RawError | undefined): string | undefined {
  if (!error) return undefined;
  const details = (error.details ?? [])
    .map((d) => [d.target, d.message].filter((s) => s !== undefined && s !== "").join(": "))
    .filter((s) => s !== "");
  if (details.length > 0) return details.join("; ");
  return error.message;
}

function toResult(r: RawResult): UsageEventResult {
  const earlier = r.error?.additionalInfo?.acceptedMessage;
  const acceptedQuantity =
    r.status === "Accepted" ? r.quantity : r.status === "Duplicate" ? earlier?.quantity : undefined;
  const usageEventId = r.usageEventId ?? earlier?.usageEventId;
  const message = errorText(r.error);
  const targets = (r.error?.details ?? []).flatMap((d) => (d.target !== undefined ? [d.target] : []));
  return {
    status: r.status,
    ...(usageEventId !== undefined ? { usageEventId } : {}),
    ...(r.messageTime !== undefined ? { messageTime: r.messageTime } : {}),
    ...(acceptedQuantity !== undefined ? { acceptedQuantity } : {}),
    ...(r.error
      ? {
          error: {
            ...(r.error.code !== undefined ? { code: r.error.code } : {}),
            ...(message !== undefined ? { message } : {}),
            ...(targets.length > 0 ? { targets } : {}),
          },
        }
      : {}),
  };
}

/** Seconds or an HTTP date (RFC 9110 §10.2.3) → milliseconds from now, or undefined. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const isRetryableStatus = (s: number) => s === 408 || s === 429 || s >= 500;

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly retryAfter: string | null;
}

export class HttpMeteringClient implements MarketplaceMeteringClient {
  private readonly fetch: typeof fetch;
  private readonly correlationId: string;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  constructor(private readonly opts: HttpMeteringClientOptions) {
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.correlationId = opts.correlationId ?? randomUUID();
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
  }

  async submitBatch(
    events: readonly UsageEventRequest[],
    opts: MeteringCallOptions = {},
  ): Promise<UsageEventResult[]> {
    if (events.length === 0) return [];
    if (events.length > MAX_EVENTS_PER_BATCH)
      throw new RangeError(`at most ${MAX_EVENTS_PER_BATCH} usage events per batch, got ${events.length}`);
    if (events.length === 1 && this.opts.singleEventEndpoint !== false)
      return [await this.submitEvent(events[0]!, opts)];
    const { requestId, answer } = await this.call("batchUsageEvent", { request: events }, opts);
    if (answer.status !== 200)
      throw new MeteringCallError(
        `batchUsageEvent ${requestId}: HTTP ${answer.status}: ${answer.text.slice(0, 500)}`,
        answer.status,
      );
    let results: RawResult[];
    try {
      results = batchResponseSchema.parse(JSON.parse(answer.text)).result;
    } catch (e) {
      throw new MeteringCallError(
        `batchUsageEvent ${requestId}: unreadable answer (${(e as Error).message.slice(0, 200)}): ${answer.text.slice(0, 300)}`,
        answer.status,
        { cause: e },
      );
    }
    return matchResults(events, results, requestId);
  }

  /** POST /usageEvent: 200 the event's answer, 409 Duplicate, 400 a refusal naming the field. */
  async submitEvent(event: UsageEventRequest, opts: MeteringCallOptions = {}): Promise<UsageEventResult> {
    const { requestId, answer } = await this.call("usageEvent", event, opts);
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      body = undefined;
    }
    const fail = (why: string) =>
      new MeteringCallError(
        `usageEvent ${requestId}: ${why}: HTTP ${answer.status}: ${answer.text.slice(0, 500)}`,
        answer.status,
      );
    if (answer.status === 200) {
      const ok = okMessageSchema.safeParse(body);
      if (!ok.success) throw fail("unreadable answer");
      return matchResults([event], [ok.data], requestId)[0]!;
    }
    if (answer.status === 409) {
      const conflict = errorSchema.safeParse(body);
      if (!conflict.success) throw fail("unreadable conflict");
      return toResult({ status: "Duplicate", error: conflict.data });
    }
    if (answer.status === 400) {
      const bad = errorSchema.safeParse(body);
      if (!bad.success) throw fail("unreadable refusal");
      return toResult({ status: singleEventStatusOf(bad.data), error: bad.data });
    }
    throw fail("no per-event answer");
  }

  /** One logical call: attempts with backoff until an answer that is not retryable, or the budget. */
  private async call(
    operation: "batchUsageEvent" | "usageEvent",
    body: unknown,
    opts: MeteringCallOptions,
  ): Promise<{ requestId: string; answer: Answer }> {
    const url = new URL(
      `api/${operation}`,
      this.opts.baseUrl.endsWith("/") ? this.opts.baseUrl : `${this.opts.baseUrl}/`,
    );
    url.searchParams.set("api-version", METERING_API_VERSION);
    const maxAttempts = this.opts.retry?.maxAttempts ?? 6;
    const base = this.opts.retry?.baseDelayMs ?? 1000;
    const cap = this.opts.retry?.maxDelayMs ?? 30_000;
    const text = JSON.stringify(body);
    let reauthorized = false;
    const failures: string[] = [];
    for (let attempt = 1; ; attempt++) {
      const requestId = randomUUID();
      let answer: Answer | undefined;
      let why: string;
      try {
        answer = await this.attempt(url, text, requestId);
        if (answer.status === 401 && this.opts.token && !reauthorized) {
          // The token was revoked or the secret rotated: re-read the credentials once.
          reauthorized = true;
          this.opts.token.invalidate();
          failures.push(`HTTP 401 (token refreshed)`);
          attempt -= 1;
          continue;
        }
        if (!isRetryableStatus(answer.status)) return { requestId, answer };
        why = `HTTP ${answer.status}: ${answer.text.slice(0, 200)}`;
      } catch (e) {
        why = `no answer: ${(e as Error)?.message ?? String(e)}`;
      }
      failures.push(why);
      const backoff = Math.min(cap, base * 2 ** (attempt - 1)) * this.random();
      const hinted = answer ? retryAfterMs(answer.retryAfter, this.now()) : undefined;
      const delay = hinted ?? backoff;
      const past = opts.deadline !== undefined && this.now() + delay >= opts.deadline;
      if (attempt >= maxAttempts || past)
        throw new MeteringCallError(
          `${operation} ${requestId}: ${why} (after ${attempt} attempt${attempt > 1 ? "s" : ""}${
            past ? ", retrying would pass the run's time budget" : ""
          }; ${failures.join(" | ").slice(0, 600)})`,
          answer?.status,
        );
      await this.sleep(delay);
    }
  }

  private async attempt(url: URL, body: string, requestId: string): Promise<Answer> {
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "x-ms-requestid": requestId,
      "x-ms-correlationid": this.correlationId,
    };
    const token = await this.opts.token?.token();
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await this.fetch(url, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
    });
    const text = await response.text();
    return { status: response.status, text, retryAfter: response.headers.get("retry-after") };
  }
}

/**
 * The status of a single event refused with HTTP 400 (policy): Microsoft's time check
 * ("has expired or is in future", target effectiveStartTime) is Expired; a known status in the
 * body's code is taken as is; anything else is BadArgument.
 */
function singleEventStatusOf(error: RawError): string {
  const all = [error, ...(error.details ?? [])];
  if (
    all.some(
      (d) => d.target === "effectiveStartTime" && /expired|in future|in the future/i.test(d.message ?? ""),
    ) ||
    error.code === "Expired"
  )
    return "Expired";
  for (const d of all)
    if (
      d.code &&
      [
        "ResourceNotFound",
        "ResourceNotAuthorized",
        "ResourceNotActive",
        "InvalidDimension",
        "InvalidQuantity",
      ].includes(d.code)
    )
      return d.code;
  return "BadArgument";
}

/** Result i answers event i: found by resource, dimension and hour, checked on the quantity. */
function matchResults(
  events: readonly UsageEventRequest[],
  results: readonly RawResult[],
  requestId: string,
): UsageEventResult[] {
  const unused = new Set(results.keys());
  return events.map((e, i) => {
    let found: number | undefined;
    let keyOnly: number | undefined;
    for (const j of unused) {
      const r = results[j]!;
      if (!sameKey(e, r)) continue;
      if (r.quantity === undefined || sameQuantity(e.quantity, r.quantity)) {
        found = j;
        break;
      }
      keyOnly ??= j;
    }
    // One event per resource/dimension/hour: an echo of the key with another quantity is still its
    // answer (the service rounds doubles), never another event's.
    found ??= keyOnly;
    // An answer that echoes nothing (no resource at all) can only be matched by position.
    const positional = results[i];
    if (
      found === undefined &&
      positional &&
      unused.has(i) &&
      positional.resourceId === undefined &&
      positional.resourceUri === undefined
    )
      found = i;
    if (found === undefined)
      throw new MeteringCallError(
        `metering call ${requestId}: no result for ${resourceOf(e)}/${e.dimension}/${e.effectiveStartTime}`,
        200,
      );
    unused.delete(found);
    return toResult(results[found]!);
  });
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().optional(),
});

/** The publisher's Entra ID application (tenant, client id and secret). Never logged. */
export interface EntraCredentials {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * Microsoft Entra ID client-credentials token for the metering API (POST
 * {authority}/{tenantId}/oauth2/token, form grant_type=client_credentials, client_id,
 * client_secret, resource=20e940b3-4c77-4b0b-9a53-9e16a1b010a7), cached until `refreshBeforeMs`
 * (default 5 minutes) before it expires. `invalidate()` (after a 401) drops the token and the
 * credentials: the next call re-reads them (a rotated secret) and fetches a new token.
 */
export function entraTokenProvider(opts: {
  readonly credentials: () => Promise<EntraCredentials>;
  /** Default https://login.microsoftonline.com */
  readonly authority?: string;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly refreshBeforeMs?: number;
}): TokenProvider & { readonly fetches: () => number } {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const now = opts.now ?? Date.now;
  const authority = (opts.authority ?? "https://login.microsoftonline.com").replace(/\/$/, "");
  let credentials: Promise<EntraCredentials> | undefined;
  let cached: { token: string; until: number } | undefined;
  let inFlight: Promise<string> | undefined;
  let fetches = 0;
  const fetchToken = async (): Promise<string> => {
    credentials ??= opts.credentials();
    let c: EntraCredentials;
    try {
      c = await credentials;
    } catch (e) {
      credentials = undefined;
      throw e;
    }
    fetches += 1;
    const res = await doFetch(`${authority}/${encodeURIComponent(c.tenantId)}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: c.clientId,
        client_secret: c.clientSecret,
        resource: MARKETPLACE_TOKEN_RESOURCE,
      }).toString(),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) {
      // Wrong or rotated credentials: read them again next time. The body is Entra ID's error
      // (code and description), which never contains the secret.
      credentials = undefined;
      throw new Error(`Entra ID token request failed: HTTP ${res.status}: ${text.slice(0, 300)}`);
    }
    const body = tokenResponseSchema.parse(JSON.parse(text));
    const lifetime = (body.expires_in ?? 3600) * 1000;
    cached = {
      token: body.access_token,
      until: now() + Math.max(0, lifetime - (opts.refreshBeforeMs ?? 300_000)),
    };
    return cached.token;
  };
  return {
    async token() {
      if (cached && now() < cached.until) return cached.token;
      inFlight ??= fetchToken().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    invalidate() {
      cached = undefined;
      credentials = undefined;
    },
    fetches: () => fetches,
  };
}

/**
 * A local Microsoft Marketplace Metering API (2018-08-31) that answers in the shapes the real
 * service gives: a real HTTP server (node:http) on 127.0.0.1 and a free port,
 * judging time against an injected clock (the simulation's virtual clock).
 *
 * POST /api/batchUsageEvent?api-version=2018-08-31, body `{ "request": [...] }`:
 * - HTTP 400 `{ code: "BadArgument", message, target, details: [{ code, message, target }] }` when
 *   the body is not such an object, the api-version is not 2018-08-31, or the batch holds more
 *   than 25 events; HTTP 401 when a token is required and the call carries none that is valid.
 * - HTTP 200 `{ count, result: [...] }`, one result per event, in order. Every item echoes the event
 *   as the real service does: `effectiveStartTime` without a zone (`2025-07-02T10:00:00`), the
 *   quantity as a double (`1.0`), and a `resourceUri` even for a SaaS resource. A refused item
 *   carries `error.code: "BadArgument"` whatever the reason, the field in `error.details[].target`,
 *   and its meaning in `status` only: BadArgument (a field missing or malformed), InvalidQuantity
 *   (≤ 0), Expired ("has expired or is in future": more than 24 hours back, or an hour that has not
 *   started), ResourceNotFound (unknown resource, or a plan that is not the resource's),
 *   ResourceNotAuthorized / ResourceNotActive (a resource so configured), InvalidDimension, Duplicate
 *   (an event was already accepted for the resource, dimension and hour: `error.code: "Conflict"`
 *   and the earlier one in `error.additionalInfo.acceptedMessage`), else Accepted.
 * POST /api/usageEvent?api-version=2018-08-31, body one event: 200 the accepted event, 409
 * `{ additionalInfo: { acceptedMessage }, message, code: "Conflict" }` for a Duplicate, 400 the
 * BadRequest shape for any other refusal.
 * POST /{tenant}/oauth2/token (when `entra` is given): Entra ID's client-credentials grant for the
 * Marketplace resource, so the token cache and the 401 refresh run against a real endpoint.
 *
 * Fault injection for tests: `failNext(n, …)` answers the next n metering calls with an HTTP error
 * (optionally with Retry-After), a reset connection, or no answer at all, before or after
 * processing them (after: an accepted batch whose answer is lost); `answerNextEventsWith(n, status)`
 * gives the next n events a status (e.g. `Error`).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Account } from "../shared/contract/accounts.js";
import { compositeKey } from "../shared/core/keys.js";
import { MAX_EVENTS_PER_BATCH, REPORTING_WINDOW_MS } from "../shared/core/marketplace/usage.js";
import { HOUR } from "../shared/core/time.js";
import type { Clock } from "../shared/ports/clock.js";
import { type LoopbackServer, listenOnLoopback } from "./loopback-server.js";

export interface MeteringResource {
  readonly resourceId: string;
  readonly planId: string;
  /** The plan's dimension ids; any dimension is taken when omitted. */
  readonly dimensions?: readonly string[];
  /** Default active; `unauthorized`: the publisher may not report for it; `inactive`: suspended. */
  readonly state?: "active" | "unauthorized" | "inactive";
}

export interface LocalMeteringApiOptions {
  readonly clock: Clock;
  readonly resources: readonly MeteringResource[];
  /** When set, calls must carry `authorization: Bearer <token>` (a fixed token). */
  readonly token?: string;
  /** When set, serves Entra ID's token endpoint and requires a token it issued. */
  readonly entra?: {
    readonly tenantId: string;
    readonly clientId: string;
    readonly clientSecret: string;
    /** Token lifetime in seconds (default 3599). */
    readonly expiresIn?: number;
  };
}

/** An accepted usage event, as the contract's marketplace-usage.json lists them (contract §5). */
export interface AcceptedUsageEvent {
  readonly resourceId: string;
  readonly planId: string;
  readonly dimension: string;
  readonly quantity: number;
  readonly effectiveStartTime: string;
}

interface StoredEvent extends AcceptedUsageEvent {
  readonly usageEventId: string;
  readonly messageTime: string;
}

export interface MeteringFault {
  /** HTTP status (default 503); ignored for `reset` and `hang`. */
  readonly status?: number;
  /** Process the call, then fail: the Marketplace took it, the answer is lost. */
  readonly afterProcessing?: boolean;
  /** Retry-After header value (seconds). */
  readonly retryAfter?: string;
  /** `reset`: the connection is destroyed; `hang`: no answer until the client gives up. */
  readonly mode?: "status" | "reset" | "hang";
}

/** The resources the accounts file's azure-marketplace accounts subscribe to. */
export function meteringResourcesOf(accounts: readonly Account[]): MeteringResource[] {
  return accounts.flatMap((a) =>
    a.billingChannel === "azure-marketplace" && a.azure
      ? [
          {
            resourceId: a.azure.resourceId,
            planId: a.azure.planId,
            dimensions: [...new Set(Object.values(a.azure.dimensions))],
          },
        ]
      : [],
  );
}

/** Microsoft takes and echoes UTC times without a zone designator too. */
function instantOf(time: string): number {
  return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(time) ? time : `${time}Z`);
}
/** `2025-07-02T10:00:00` — how the service echoes a time (UTC, no zone). */
const zoneless = (t: number) => new Date(t).toISOString().slice(0, 19);
/** The service's messageTime: 7 fractional digits and a Z. */
const messageTimeOf = (t: number) => `${new Date(t).toISOString().slice(0, 23)}0000Z`;
/** The URI the service echoes for a SaaS subscription. */
const resourceUriOf = (resourceId: string) =>
  `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/marketplace/providers/Microsoft.SaaS/resources/${resourceId}`;

const EXPIRED_MESSAGE = "The effective time provided is has expired or is in future.";

export class LocalMeteringApi {
  private readonly events: StoredEvent[] = [];
  private readonly byHour = new Map<string, StoredEvent>();
  private readonly faults: MeteringFault[] = [];
  private readonly forced: { status: string; resourceId?: string }[] = [];
  private readonly tokens = new Set<string>();
  private calls = 0;
  private tokenCalls = 0;
  private eventsReceived = 0;
  private largestBatch = 0;

  constructor(private readonly opts: LocalMeteringApiOptions) {}

  /** Every event accepted so far, in acceptance order. */
  accepted(): AcceptedUsageEvent[] {
    return this.events.map(({ resourceId, planId, dimension, quantity, effectiveStartTime }) => ({
      resourceId,
      planId,
      dimension,
      quantity,
      effectiveStartTime,
    }));
  }

  /** Metering calls received, usage events received, the largest batch seen, token requests. */
  stats(): { calls: number; events: number; largestBatch: number } {
    return { calls: this.calls, events: this.eventsReceived, largestBatch: this.largestBatch };
  }

  /** Token requests answered (issued or refused). */
  tokenRequests(): number {
    return this.tokenCalls;
  }

  /** Every token issued so far stops being valid (as after a secret rotation). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** The next `count` metering calls fail as `fault` says (default: HTTP 503 before processing). */
  failNext(count: number, fault: MeteringFault = {}): void {
    for (let i = 0; i < count; i++) this.faults.push(fault);
  }

  /**
   * The next `count` well-formed events (of `resourceId`, or of any resource) are answered with
   * `status` (e.g. `Error`) instead of being judged.
   */
  answerNextEventsWith(count: number, status: string, resourceId?: string): void {
    for (let i = 0; i < count; i++) this.forced.push({ status, ...(resourceId ? { resourceId } : {}) });
  }

  async start(): Promise<LoopbackServer> {
    const server = createServer((req, res) => {
      // Echoed like Microsoft does, or generated when the client sent none.
      for (const h of ["x-ms-requestid", "x-ms-correlationid"]) {
        const v = req.headers[h];
        res.setHeader(h, typeof v === "string" && v !== "" ? v : randomUUID());
      }
      this.handle(req, res).catch((e: unknown) =>
        send(res, 500, { code: "InternalError", message: String(e) }),
      );
    });
    return listenOnLoopback(server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "POST" && /^\/[^/]+\/oauth2\/token$/.test(url.pathname) && this.opts.entra)
      return this.issueToken(url.pathname.split("/")[1]!, body, res);
    const single = url.pathname === "/api/usageEvent";
    if (req.method !== "POST" || (!single && url.pathname !== "/api/batchUsageEvent"))
      return send(res, 404, { code: "NotFound", message: `${req.method} ${url.pathname}` });
    this.calls += 1;
    const fault = this.faults.shift();
    if (fault && !fault.afterProcessing) return this.fail(fault, res);
    if (!this.authorized(req.headers.authorization))
      return send(res, 401, { code: "Unauthorized", message: "missing, invalid or expired token" });
    if (url.searchParams.get("api-version") !== "2018-08-31")
      return send(res, 400, badRequest("api-version", "The api-version must be 2018-08-31."));
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return send(res, 400, badRequest("usageEventRequest", "The request body is not valid JSON."));
    }
    if (single) {
      this.eventsReceived += 1;
      this.largestBatch = Math.max(this.largestBatch, 1);
      const r = this.judge(parsed);
      if (fault) return this.fail(fault, res);
      if (r.status === "Accepted") return send(res, 200, withoutError(r));
      if (r.status === "Duplicate") return send(res, 409, r.error);
      // A single event's refusal is the error itself; its status is named in the code.
      const error = r.error as { details?: unknown; message?: string; target?: string };
      return send(res, 400, {
        code: r.status,
        message: error.message ?? "One or more errors have occurred.",
        target: error.target ?? "usageEventRequest",
        details: error.details ?? [],
      });
    }
    const request = (parsed as { request?: unknown } | null)?.request;
    if (!Array.isArray(request))
      return send(res, 400, badRequest("request", "The request must be an array of usage events."));
    this.eventsReceived += request.length;
    this.largestBatch = Math.max(this.largestBatch, request.length);
    if (request.length > MAX_EVENTS_PER_BATCH || request.length === 0)
      return send(
        res,
        400,
        badRequest(
          "request",
          `The batch holds ${request.length} usage events; it must hold 1 to ${MAX_EVENTS_PER_BATCH}.`,
        ),
      );
    const result = request.map((e: unknown) => this.judge(e));
    if (fault) return this.fail(fault, res);
    return send(res, 200, { result, count: result.length });
  }

  private fail(fault: MeteringFault, res: ServerResponse): void {
    if (fault.mode === "reset") {
      res.socket?.destroy();
      return;
    }
    if (fault.mode === "hang") return; // the client times out; stop() closes the connection
    if (fault.retryAfter !== undefined) res.setHeader("Retry-After", fault.retryAfter);
    const status = fault.status ?? 503;
    send(res, status, {
      code: status === 429 ? "TooManyRequests" : "ServiceUnavailable",
      message: "injected failure",
    });
  }

  private authorized(header: string | undefined): boolean {
    if (this.opts.entra) return header?.startsWith("Bearer ") === true && this.tokens.has(header.slice(7));
    if (this.opts.token !== undefined) return header === `Bearer ${this.opts.token}`;
    return true;
  }

  private issueToken(tenant: string, body: string, res: ServerResponse): void {
    const entra = this.opts.entra!;
    this.tokenCalls += 1;
    const form = new URLSearchParams(body);
    if (
      decodeURIComponent(tenant) !== entra.tenantId ||
      form.get("grant_type") !== "client_credentials" ||
      form.get("client_id") !== entra.clientId ||
      form.get("client_secret") !== entra.clientSecret ||
      form.get("resource") !== "20e940b3-4c77-4b0b-9a53-9e16a1b010a7"
    ) {
      send(res, 401, {
        error: "invalid_client",
        error_description: "AADSTS7000215: Invalid client secret provided.",
      });
      return;
    }
    const token = randomUUID();
    this.tokens.add(token);
    const now = Math.floor(this.opts.clock.now() / 1000);
    const expiresIn = entra.expiresIn ?? 3599;
    send(res, 200, {
      token_type: "Bearer",
      expires_in: String(expiresIn),
      ext_expires_in: String(expiresIn),
      expires_on: String(now + expiresIn),
      not_before: String(now),
      resource: "20e940b3-4c77-4b0b-9a53-9e16a1b010a7",
      access_token: token,
    });
  }

  private judge(raw: unknown): Record<string, unknown> & { status: string; error?: unknown } {
    const e = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
    const t = typeof e.effectiveStartTime === "string" ? instantOf(e.effectiveStartTime) : Number.NaN;
    const echo = {
      resourceId: e.resourceId,
      resourceUri: typeof e.resourceId === "string" ? resourceUriOf(e.resourceId) : e.resourceUri,
      quantity: e.quantity,
      dimension: e.dimension,
      effectiveStartTime: Number.isNaN(t) ? e.effectiveStartTime : zoneless(t),
      planId: e.planId,
    };
    const now = this.opts.clock.now();
    // Every refused item: error.code BadArgument, the field in details[].target (Microsoft's shape).
    const refuse = (status: string, target: string, message: string) => ({
      status,
      messageTime: messageTimeOf(now),
      error: {
        message: "One or more errors have occurred.",
        target: "usageEventRequest",
        details: [{ message, target, code: "BadArgument" }],
        code: "BadArgument",
      },
      ...echo,
    });
    for (const field of ["resourceId", "planId", "dimension", "effectiveStartTime"] as const)
      if (typeof e[field] !== "string" || e[field] === "")
        return refuse("BadArgument", field, `The ${field} is required.`);
    if (typeof e.quantity !== "number" || !Number.isFinite(e.quantity))
      return refuse("BadArgument", "quantity", "The quantity is required.");
    const resourceId = e.resourceId as string;
    const planId = e.planId as string;
    const dimension = e.dimension as string;
    const quantity = e.quantity;
    if (Number.isNaN(t))
      return refuse("BadArgument", "effectiveStartTime", "The effectiveStartTime is not a valid date.");
    const f = this.forced.findIndex((x) => x.resourceId === undefined || x.resourceId === resourceId);
    if (f >= 0) {
      const [forced] = this.forced.splice(f, 1);
      return refuse(forced!.status, "usageEventRequest", `Injected status ${forced!.status}.`);
    }
    if (quantity <= 0) return refuse("InvalidQuantity", "quantity", "The quantity must be greater than 0.");
    // One check for both directions, as the real service: an hour not started yet is Expired too.
    if (t > now || now - t > REPORTING_WINDOW_MS)
      return refuse("Expired", "effectiveStartTime", EXPIRED_MESSAGE);
    const resource = this.opts.resources.find((r) => r.resourceId === resourceId);
    if (!resource || resource.planId !== planId)
      return refuse(
        "ResourceNotFound",
        resource ? "planId" : "resourceId",
        resource
          ? `The plan ${planId} is not the plan of resource ${resourceId}.`
          : `The resource ${resourceId} was not found.`,
      );
    if (resource.state === "unauthorized")
      return refuse(
        "ResourceNotAuthorized",
        "resourceId",
        `The caller is not authorized to report usage for resource ${resourceId}.`,
      );
    if (resource.state === "inactive")
      return refuse("ResourceNotActive", "resourceId", `The resource ${resourceId} is not active.`);
    if (resource.dimensions && !resource.dimensions.includes(dimension))
      return refuse("InvalidDimension", "dimension", `The dimension ${dimension} is not in plan ${planId}.`);
    const key = compositeKey(resourceId, dimension, Math.floor(t / HOUR));
    const earlier = this.byHour.get(key);
    if (earlier)
      return {
        status: "Duplicate",
        messageTime: messageTimeOf(now),
        error: {
          additionalInfo: {
            acceptedMessage: {
              usageEventId: earlier.usageEventId,
              status: "Duplicate",
              messageTime: earlier.messageTime,
              resourceId: earlier.resourceId,
              resourceUri: resourceUriOf(earlier.resourceId),
              quantity: earlier.quantity,
              dimension: earlier.dimension,
              effectiveStartTime: zoneless(instantOf(earlier.effectiveStartTime)),
              planId: earlier.planId,
            },
          },
          message: "This usage event already exist.",
          code: "Conflict",
        },
        ...echo,
      };
    const stored: StoredEvent = {
      usageEventId: randomUUID(),
      messageTime: messageTimeOf(now),
      resourceId,
      planId,
      dimension,
      quantity,
      effectiveStartTime: e.effectiveStartTime as string,
    };
    this.byHour.set(key, stored);
    this.events.push(stored);
    return {
      usageEventId: stored.usageEventId,
      status: "Accepted",
      messageTime: stored.messageTime,
      ...echo,
    };
  }
}

function withoutError(r: Record<string, unknown>): Record<string, unknown> {
  const { error: _error, ...rest } = r;
  return rest;
}

function badRequest(target: string, message: string) {
  return {
    code: "BadArgument",
    message: "One or more errors have occurred.",
    target: "usageEventRequest",
    details: [{ code: "BadArgument", message, target }],
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * JSON as the service writes it: every `quantity` a double (`1.0`, never `1`). Quantities are
 * JSON numbers produced by JSON.stringify, so a textual rewrite of `"quantity":<integer>` is exact.
 */
export function meteringJson(body: unknown): string {
  return JSON.stringify(body).replace(/"quantity":(-?\d+)(?=[,}])/g, '"quantity":$1.0');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = meteringJson(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
  res.end(text);
}

/**
 * A local emulator of the Microsoft Marketplace Metering API's batchUsageEvent, as documented by
 * Microsoft ("Marketplace metered billing APIs"): a real HTTP server (node:http) on 127.0.0.1 and a
 * free port, judging time against an injected clock (the simulation's virtual clock).
 *
 * POST /api/batchUsageEvent?api-version=2018-08-31, body `{ "request": [...] }`:
 * - HTTP 400 when the body is not such an object, the api-version is not 2018-08-31, or the batch
 *   holds more than 25 events; HTTP 403 when a token is configured and not presented.
 * - HTTP 200 `{ count, result: [...] }`, one result per event, in order, echoing the event:
 *   BadArgument (a field missing or malformed; an effectiveStartTime in the future),
 *   InvalidQuantity (quantity ≤ 0), ResourceNotFound (unknown resourceId, or a planId that is not
 *   the resource's), InvalidDimension (a dimension the plan does not have, when the plan's
 *   dimensions are given), Expired (effectiveStartTime more than 24 hours before the clock),
 *   Duplicate (an event was already accepted for that resource, dimension and calendar hour; the
 *   earlier one is given in error.additionalInfo.acceptedMessage), else Accepted.
 * Fault injection for tests: `failNext(n, …)` answers the next n calls with an HTTP error, before or
 * after processing them (the latter is an accepted batch whose answer is lost).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Account } from "../shared/contract/accounts.js";
import { MAX_EVENTS_PER_BATCH, REPORTING_WINDOW_MS } from "../shared/core/marketplace/usage.js";
import type { Clock } from "../shared/ports/clock.js";

export interface MeteringResource {
  readonly resourceId: string;
  readonly planId: string;
  /** The plan's dimension ids; any dimension is taken when omitted. */
  readonly dimensions?: readonly string[];
}

export interface LocalMeteringApiOptions {
  readonly clock: Clock;
  readonly resources: readonly MeteringResource[];
  /** When set, calls must carry `authorization: Bearer <token>`. */
  readonly token?: string;
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

const HOUR = 3_600_000;

/** Microsoft takes and echoes UTC times without a zone designator too. */
function instantOf(time: string): number {
  return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(time) ? time : `${time}Z`);
}

export class LocalMeteringApi {
  private readonly events: StoredEvent[] = [];
  private readonly byHour = new Map<string, StoredEvent>();
  private readonly faults: { status: number; afterProcessing: boolean }[] = [];
  private calls = 0;
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

  /** Calls received, usage events received and the largest batch seen. */
  stats(): { calls: number; events: number; largestBatch: number } {
    return { calls: this.calls, events: this.eventsReceived, largestBatch: this.largestBatch };
  }

  /** The next `count` calls get HTTP `status` (default 503), before or after being processed. */
  failNext(count: number, opts: { status?: number; afterProcessing?: boolean } = {}): void {
    for (let i = 0; i < count; i++)
      this.faults.push({ status: opts.status ?? 503, afterProcessing: opts.afterProcessing ?? false });
  }

  async start(): Promise<{ url: string; stop(): Promise<void> }> {
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
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      stop: () =>
        new Promise<void>((resolve, reject) => {
          server.close((e) => (e ? reject(e) : resolve()));
          server.closeAllConnections();
        }),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method !== "POST" || url.pathname !== "/api/batchUsageEvent")
      return send(res, 404, { code: "NotFound", message: `${req.method} ${url.pathname}` });
    this.calls += 1;
    const fault = this.faults.shift();
    if (fault && !fault.afterProcessing) return send(res, fault.status, { code: "ServiceUnavailable" });
    if (this.opts.token !== undefined && req.headers.authorization !== `Bearer ${this.opts.token}`)
      return send(res, 403, { code: "Forbidden", message: "missing or invalid authorization token" });
    if (url.searchParams.get("api-version") !== "2018-08-31")
      return send(res, 400, badRequest("api-version", "api-version must be 2018-08-31"));
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return send(res, 400, badRequest("body", "the body is not JSON"));
    }
    const request = (parsed as { request?: unknown } | null)?.request;
    if (!Array.isArray(request)) return send(res, 400, badRequest("request", "request must be an array"));
    this.eventsReceived += request.length;
    this.largestBatch = Math.max(this.largestBatch, request.length);
    if (request.length > MAX_EVENTS_PER_BATCH)
      return send(
        res,
        400,
        badRequest(
          "request",
          `the batch holds ${request.length} usage events; at most ${MAX_EVENTS_PER_BATCH}`,
        ),
      );
    const result = request.map((e: unknown) => this.judge(e));
    if (fault) return send(res, fault.status, { code: "ServiceUnavailable" });
    return send(res, 200, { count: result.length, result });
  }

  private judge(raw: unknown): Record<string, unknown> {
    const e = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
    const echo = {
      resourceId: e.resourceId,
      quantity: e.quantity,
      dimension: e.dimension,
      effectiveStartTime: e.effectiveStartTime,
      planId: e.planId,
    };
    const refuse = (status: string, code: string, message: string, extra: Record<string, unknown> = {}) => ({
      status,
      messageTime: "0001-01-01T00:00:00",
      error: { message, code, ...extra },
      ...echo,
    });
    for (const field of ["resourceId", "planId", "dimension", "effectiveStartTime"] as const)
      if (typeof e[field] !== "string" || e[field] === "")
        return refuse("BadArgument", "BadArgument", `The ${field} is required.`, { target: field });
    if (typeof e.quantity !== "number" || !Number.isFinite(e.quantity))
      return refuse("BadArgument", "BadArgument", "The quantity is required.", { target: "quantity" });
    const resourceId = e.resourceId as string;
    const planId = e.planId as string;
    const dimension = e.dimension as string;
    const effectiveStartTime = e.effectiveStartTime as string;
    const quantity = e.quantity;
    const t = instantOf(effectiveStartTime);
    if (Number.isNaN(t))
      return refuse("BadArgument", "BadArgument", "The effectiveStartTime is not a date.", {
        target: "effectiveStartTime",
      });
    if (quantity <= 0)
      return refuse("InvalidQuantity", "InvalidQuantity", "The quantity must be greater than 0.");
    const resource = this.opts.resources.find((r) => r.resourceId === resourceId);
    if (!resource || resource.planId !== planId)
      return refuse(
        "ResourceNotFound",
        "ResourceNotFound",
        resource
          ? `The plan ${planId} is not the plan of resource ${resourceId}.`
          : `Resource ${resourceId} not found.`,
      );
    if (resource.dimensions && !resource.dimensions.includes(dimension))
      return refuse(
        "InvalidDimension",
        "InvalidDimension",
        `The dimension ${dimension} is not in plan ${planId}.`,
      );
    const now = this.opts.clock.now();
    if (t > now)
      return refuse("BadArgument", "BadArgument", "The effectiveStartTime is in the future.", {
        target: "effectiveStartTime",
      });
    if (now - t > REPORTING_WINDOW_MS)
      return refuse("Expired", "Expired", "The effectiveStartTime is more than 24 hours in the past.");
    const key = `${resourceId}\u0000${dimension}\u0000${Math.floor(t / HOUR)}`;
    const earlier = this.byHour.get(key);
    if (earlier)
      return refuse("Duplicate", "Conflict", "This usage event already exist.", {
        additionalInfo: { acceptedMessage: { ...earlier, status: "Duplicate" } },
      });
    const stored: StoredEvent = {
      usageEventId: randomUUID(),
      messageTime: new Date(now).toISOString(),
      resourceId,
      planId,
      dimension,
      quantity,
      effectiveStartTime,
    };
    this.byHour.set(key, stored);
    this.events.push(stored);
    return { status: "Accepted", ...stored };
  }
}

function badRequest(target: string, message: string) {
  return {
    message: "One or more errors have occurred.",
    target: "usageEventRequest",
    details: [{ message, target, code: "BadArgument" }],
    code: "BadArgument",
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

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
  res.end(text);
}

/**
 * The finance API handler (shared/app/finance-api.ts) on a real HTTP server on 127.0.0.1 and a free
 * port: each request becomes the API Gateway HTTP API payload 2.0 event the deployed API would send
 * the Lambda, and the handler's result becomes the response, as API Gateway maps it. A streamed
 * result (CSV) is written chunk by chunk, waiting for the client to drain each (chunked encoding); a
 * failure mid-stream aborts the connection, so a client never takes a cut CSV for a whole one.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type FinanceApiStreamingHandler, isStreamed } from "../shared/app/finance-api.js";
import { type LoopbackServer, listenOnLoopback } from "./loopback-server.js";

export type FinanceApiServer = LoopbackServer;

/** The payload 2.0 event API Gateway builds for a request (no body: every route is a GET). */
export function httpApiEvent(req: {
  method: string;
  url: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  sourceIp?: string;
}): APIGatewayProxyEventV2 {
  const u = new URL(req.url, "http://localhost");
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : v;
  const query: Record<string, string> = {};
  // API Gateway joins repeated parameters with commas.
  for (const [k, v] of u.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const now = new Date();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: u.pathname,
    rawQueryString: u.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "127.0.0.1",
      domainPrefix: "local",
      http: {
        method: req.method,
        path: u.pathname,
        protocol: "HTTP/1.1",
        sourceIp: req.sourceIp ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

/** Resolves once `res` can take more (or the client went away), leaving no listener behind. */
const drainedOrClosed = (res: ServerResponse) =>
  new Promise<void>((done) => {
    const finish = () => {
      res.off("drain", finish).off("close", finish);
      done();
    };
    res.on("drain", finish).on("close", finish);
  });

export async function startFinanceApiServer(
  handler: FinanceApiStreamingHandler,
  log: (msg: string) => void = () => undefined,
): Promise<FinanceApiServer> {
  const server = createServer((req: IncomingMessage, res) => {
    const event = httpApiEvent({
      method: req.method ?? "GET",
      url: req.url ?? "/",
      headers: req.headers,
      ...(req.socket.remoteAddress ? { sourceIp: req.socket.remoteAddress } : {}),
    });
    const failed = (e: unknown) => {
      log(`finance API: ${event.rawPath}: ${(e as Error).message}`);
      if (res.headersSent) {
        res.destroy(e as Error);
        return;
      }
      // What API Gateway answers when the integration fails.
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "Internal Server Error" }));
    };
    handler(event)
      .then(async (r) => {
        res.writeHead(r.statusCode, r.headers);
        if (!isStreamed(r)) {
          res.end(r.body); // the finance API's bodies are text, never base64
          return;
        }
        for await (const chunk of r.chunks) {
          if (res.destroyed) return; // the client went away: stop reading the period
          if (!res.write(chunk)) await drainedOrClosed(res);
        }
        res.end();
      })
      .catch(failed);
  });
  return listenOnLoopback(server);
}

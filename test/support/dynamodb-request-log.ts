/**
 * A recording HTTP proxy in front of DynamoDB Local: a command run in a child process (the `billing`
 * CLI) is pointed at it by DYNAMODB_ENDPOINT, and every request it makes is logged by its operation
 * (the `X-Amz-Target` header, e.g. `DynamoDB_20120810.Scan`) before being passed on unchanged.
 */
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface DynamoDbRequestLog {
  readonly endpoint: string;
  /** Operations in the order the requests came (`Query`, `Scan`, `GetItem`, …). */
  readonly operations: string[];
  close(): Promise<void>;
}

export async function recordDynamoDbRequests(target: string): Promise<DynamoDbRequestLog> {
  const to = new URL(target);
  const operations: string[] = [];
  const server = createServer((req, res) => {
    operations.push(String(req.headers["x-amz-target"] ?? "").replace(/^DynamoDB_\d+\./, ""));
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    upstream.on("error", (e) => res.destroy(e));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    operations,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

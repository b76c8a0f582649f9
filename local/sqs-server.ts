/**
 * An SQS-compatible server (fauxqs) in this process, on 127.0.0.1 and a free port.
 *
 * fauxqs's startFauxqs() always listens on 0.0.0.0, so this builds its app with buildApp() and
 * listens on loopback itself. close() is complete: fauxqs cancels pending long polls in a preClose
 * hook and the app force-closes keep-alive connections.
 */
import { buildApp } from "fauxqs";

export interface SqsServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startSqsServer(): Promise<SqsServer> {
  const app = buildApp({ logger: false });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr !== "object") {
    await app.close();
    throw new Error("fauxqs is not listening on a TCP port");
  }
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    stop: () => {
      stopping ??= app.close().then(() => undefined);
      return stopping;
    },
  };
}

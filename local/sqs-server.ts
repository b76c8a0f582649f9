/**
 * An SQS-compatible server (fauxqs) in this process, on 127.0.0.1 and a free port.
 *
 * fauxqs's startFauxqs() always listens on 0.0.0.0, so this builds its app with buildApp() and
 * listens on loopback itself. close() is complete: fauxqs cancels pending long polls in a preClose
 * hook and the app force-closes keep-alive connections.
 */
import { type BuildAppOptions, buildApp } from "fauxqs";
import { persistentS3Store } from "./persistent-s3.js";

export interface SqsServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * `s3DataDir`: S3 objects are kept there too and loaded again at the next start (local/persistent-s3.ts);
 * without it, as fauxqs is, everything lives in memory only.
 */
export async function startSqsServer(opts: { s3DataDir?: string } = {}): Promise<SqsServer> {
  // buildApp takes each store it is given and makes the others itself.
  const stores = opts.s3DataDir
    ? ({ s3Store: await persistentS3Store(opts.s3DataDir) } as unknown as BuildAppOptions["stores"])
    : undefined;
  const app = buildApp({ logger: false, ...(stores ? { stores } : {}) });
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

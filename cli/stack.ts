/**
 * `billing stack start|stop|status|serve --dir DIR`: a local stack that stays up between commands
 * (local/stack.ts). `start` runs `billing stack serve` as a detached supervisor process (its output
 * in DIR/stack.log), returns once every part answers and prints the environment (also in DIR/env);
 * `stop` stops the supervisor, which stops everything it started, and waits until all are gone.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  envFileText,
  readStackPid,
  readStackState,
  type StackState,
  serveLocalStack,
  stackFiles,
} from "../local/stack.js";
import { EXIT, parse, UsageError } from "./usage.js";

const billingJs = fileURLToPath(new URL("../bin/billing.js", import.meta.url));

export type StackControl = {
  kind: "start" | "stop" | "status" | "serve";
  dir: string;
  /** `start`/`serve`: the stack's clock starts at this instant (epoch ms) and runs at real speed. */
  clockStart?: number;
};

export function parseStackControl(args: string[]): StackControl {
  const { values, positionals } = parse({
    args,
    allowPositionals: true,
    options: { dir: { type: "string" }, "clock-start": { type: "string" } },
  });
  const kind = positionals[0];
  if (
    positionals.length !== 1 ||
    (kind !== "start" && kind !== "stop" && kind !== "status" && kind !== "serve")
  )
    throw new UsageError("stack takes one subcommand: start, stop, status or serve");
  if (!values.dir) throw new UsageError(`stack ${kind} needs --dir DIR`);
  const at = values["clock-start"];
  if (at === undefined) return { kind, dir: resolve(values.dir) };
  if (kind !== "start" && kind !== "serve") throw new UsageError("--clock-start goes with stack start");
  const clockStart = Date.parse(at);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(at) || Number.isNaN(clockStart))
    throw new UsageError(
      `--clock-start takes an ISO 8601 instant such as 2025-08-01T00:00:00Z, not ${JSON.stringify(at)}`,
    );
  return { kind, dir: resolve(values.dir), clockStart };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A live process (a zombie, exited but not reaped yet, is not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2]?.startsWith("Z");
  } catch {
    return true; // no /proc: kill(0) is all there is
  }
}

/** The command line of a process, when /proc shows it. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined;
  }
}

/** The supervisor of DIR, if one runs (a pid file left by a crash, or a reused pid, is not one). */
function runningSupervisor(dir: string): number | undefined {
  const pid = readStackPid(dir);
  if (pid === undefined || !alive(pid)) return undefined;
  const cmd = commandLine(pid);
  return cmd === undefined || (cmd.includes("stack serve") && cmd.includes(dir)) ? pid : undefined;
}

async function waitUntilGone(pid: number): Promise<void> {
  while (alive(pid)) await sleep(50);
}

/** Resolves once every part of the stack answers a request (no deadline: waits for a condition). */
export async function checkStack(env: Readonly<Record<string, string>>): Promise<void> {
  const credentials = { accessKeyId: "local", secretAccessKey: "local" };
  const region = env.AWS_REGION ?? "us-east-1";
  const ddb = new DynamoDBClient({ region, endpoint: env.DYNAMODB_ENDPOINT, credentials });
  const sqs = new SQSClient({ region, endpoint: env.SQS_ENDPOINT, credentials });
  try {
    await ddb.send(new ListTablesCommand({ Limit: 1 }));
    await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: env.USAGE_QUEUE_URL, AttributeNames: ["QueueArn"] }),
    );
    // Any HTTP answer (404 on /) means the server is up.
    for (const name of ["METERING_API_URL", "BILLING_API_URL"])
      if (env[name]) await fetch(env[name] as string).then((r) => r.body?.cancel());
  } finally {
    ddb.destroy();
    sqs.destroy();
  }
}

function logTail(dir: string): string {
  try {
    return readFileSync(stackFiles(dir).log, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "";
  }
}

export async function runStackControl(cmd: StackControl): Promise<number> {
  switch (cmd.kind) {
    case "serve":
      return serve(cmd.dir, cmd.clockStart);
    case "start":
      return start(cmd.dir, cmd.clockStart);
    case "stop":
      return stop(cmd.dir);
    case "status": {
      const pid = runningSupervisor(cmd.dir);
      const state = readStackState(cmd.dir);
      if (pid === undefined || !state) {
        console.log(`no stack running in ${cmd.dir}`);
        return EXIT.failure;
      }
      await checkStack(state.env);
      console.log(`stack running in ${cmd.dir} (supervisor pid ${pid}), every part answers`);
      process.stdout.write(envFileText(state.env));
      return EXIT.ok;
    }
  }
}

async function start(dir: string, clockStart?: number): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const running = runningSupervisor(dir);
  if (running !== undefined) {
    const state = readStackState(dir);
    if (!state) throw new UsageError(`a stack is starting in ${dir} (pid ${running}); wait, or stop it`);
    await checkStack(state.env);
    console.error(`stack already running in ${dir} (pid ${running})`);
    process.stdout.write(envFileText(state.env));
    return EXIT.ok;
  }
  const files = stackFiles(dir);
  // Left by a supervisor that was killed: not running (checked above).
  rmSync(files.pid, { force: true });
  rmSync(files.state, { force: true });
  const log = openSync(files.log, "a");
  let state: StackState;
  try {
    const clockArgs = clockStart !== undefined ? ["--clock-start", new Date(clockStart).toISOString()] : [];
    const child = spawn(process.execPath, [billingJs, "stack", "serve", "--dir", dir, ...clockArgs], {
      detached: true,
      stdio: ["ignore", log, log, "ipc"],
      cwd: dir,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    });
    state = await new Promise<StackState>((done, fail) => {
      child.once("message", (m) => done((m as { ready: StackState }).ready));
      child.once("error", fail);
      child.once("exit", (code, signal) =>
        fail(
          new Error(
            `the stack's supervisor exited during start-up (code ${code}, signal ${signal}); ${files.log}:\n${logTail(dir)}`,
          ),
        ),
      );
    });
    child.removeAllListeners("exit");
    child.disconnect();
    child.unref();
  } finally {
    closeSync(log);
  }
  await checkStack(state.env);
  process.stdout.write(envFileText(state.env));
  console.error(
    `stack started in ${dir} (supervisor pid ${state.supervisorPid}, log ${files.log}); ` +
      `run \`source ${files.env}\`, then the stack commands; \`billing stack stop --dir ${dir}\` stops it`,
  );
  return EXIT.ok;
}

async function stop(dir: string): Promise<number> {
  const state = readStackState(dir);
  const pid = runningSupervisor(dir);
  if (pid !== undefined) {
    process.kill(pid, "SIGTERM");
    await waitUntilGone(pid);
  }
  // A supervisor killed outright (SIGKILL) could not stop its JVM: stop it here.
  const jvm = state?.dynamodbPid;
  if (jvm !== undefined && alive(jvm) && commandLine(jvm)?.includes(stackFiles(dir).dynamodb)) {
    process.kill(jvm, "SIGKILL");
    await waitUntilGone(jvm);
  }
  const files = stackFiles(dir);
  rmSync(files.pid, { force: true });
  rmSync(files.state, { force: true });
  console.log(pid !== undefined ? `stack in ${dir} stopped` : `no stack running in ${dir}`);
  return EXIT.ok;
}

/** The supervisor: runs the stack in this process until SIGTERM or SIGINT. */
async function serve(dir: string, clockStart?: number): Promise<number> {
  const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
  if (runningSupervisor(dir) !== undefined && readStackPid(dir) !== process.pid)
    throw new UsageError(`a stack already runs in ${dir}`);
  let stack: Awaited<ReturnType<typeof serveLocalStack>> | undefined;
  let signalled: NodeJS.Signals | undefined;
  const finished = new Promise<number>((done) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const)
      process.on(signal, () => {
        if (signalled) return;
        signalled = signal;
        log(`${signal}: stopping every part of the stack`);
        void (stack?.stop() ?? Promise.resolve()).then(() => {
          log("stopped");
          done(EXIT.ok);
        });
      });
  });
  stack = await serveLocalStack({ dir, log, ...(clockStart !== undefined ? { clockStart } : {}) });
  if (signalled) await stack.stop();
  else process.send?.({ ready: stack.state });
  const code = await finished;
  if (existsSync(stackFiles(dir).pid)) rmSync(stackFiles(dir).pid, { force: true });
  // Nothing is left to keep the process alive; exit now rather than wait for stray handles.
  process.exit(code);
}

/** Running the `billing` command as a user does (bin/billing.js in a child process) and checking what it leaves behind. */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";

const run = promisify(execFile);
export const root = resolve(import.meta.dirname, "..", "..");
export const billingJs = join(root, "bin", "billing.js");
export const basic = join(root, "examples", "basic");

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `billing ARGS`; never rejects. No time limit: a test waits for the command, not for a clock. */
export const billing = (args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> =>
  run("node", [billingJs, ...args], { cwd: root, env, maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    }),
  );

/** The environment of a stack command against a local system: its table, DynamoDB, S3 and exports bucket. */
export const localSystemEnv = (s: {
  readonly tableName: string;
  readonly exportsBucket: string;
  readonly endpoints: { readonly dynamodb: string; readonly s3: string };
}): NodeJS.ProcessEnv => ({
  ...process.env,
  BILLING_TABLE: s.tableName,
  AWS_REGION: "us-east-1",
  DYNAMODB_ENDPOINT: s.endpoints.dynamodb,
  S3_ENDPOINT: s.endpoints.s3,
  EXPORTS_BUCKET: s.exportsBucket,
});

/** A Node stack trace line ("    at fn (file:line:col)"): never shown to a user without --debug. */
export const STACK_LINE = /^\s+at .+[:(]/m;

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    // A zombie (exited, not yet reaped by this sandbox's init) is not running.
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2]?.startsWith("Z");
  } catch {
    return false;
  }
};

/** Every live descendant of pid (children, their children …), from /proc. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parentOf.set(Number(d), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf)
      if (parent === p) {
        out.push(child);
        walk(child);
      }
  };
  walk(pid);
  return out.filter(alive);
}

/** True when nothing accepts connections at the URL's port any more. */
export const refused = (url: string) =>
  new Promise<boolean>((done) => {
    const u = new URL(url);
    const s = connect({ host: u.hostname, port: Number(u.port) });
    s.once("connect", () => {
      s.destroy();
      done(false);
    });
    s.once("error", () => done(true));
  });

const sms = (id: string, extra: { source?: string; data?: Record<string, unknown> } = {}) =>
  JSON.stringify({
    specversion: "1.0",
    id,
    source: extra.source ?? "/example/gateway",
    type: "sms.mt",
    subject: "acme",
    time: "2025-07-15T12:00:00Z",
    data: { to: "4915110000001", country: "DE", status: "submitted", ...extra.data },
  });

/** Over AWS's (and fauxqs's) SQS message size limit of 1 MiB. */
export const OVER_SQS_LIMIT = 1_048_576 + 1_000;

/**
 * examples/basic/events.jsonl (acme, July 2025: 12 lines, 225.44 EUR) with every kind of line that
 * cannot be rated mixed in. Each bad line is an SMS to Germany (0.05 EUR) with its own id, so that
 * any of them charged by mistake would change the total.
 */
export async function writeBadLinesFile(
  file: string,
  /** examples/basic's July 2025 moved to July of this year (a receipt on the real clock, G5's 400 days). */
  year = 2025,
): Promise<{
  refusedLines: { control: number; oversize: number; invalidUtf8: number };
  storeLines: { bigBody: number; longSource: number };
  goodLines: number;
}> {
  const good = readFileSync(join(basic, "events.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => Buffer.from(l.replaceAll('"time": "2025-', `"time": "${year}-`)));
  const utf8Bad = Buffer.from(sms("bad-utf8"));
  const at = utf8Bad.indexOf("4915110000001");
  const invalidUtf8 = Buffer.concat([
    utf8Bad.subarray(0, at),
    Buffer.from([0xc3, 0x28]),
    utf8Bad.subarray(at),
  ]);
  const bad = {
    // JSON.stringify would escape it: the raw byte 0x01 is put in by hand.
    control: Buffer.from(
      sms("bad-control", { data: { note: "bell-here" } }).replace("bell-here", "bell\u0001here"),
    ),
    oversize: Buffer.from(sms("bad-oversize", { data: { note: "x".repeat(OVER_SQS_LIMIT) } })),
    invalidUtf8,
    // Under the SQS limit, over DynamoDB's 400 KB item limit (h7input: dead-lettered, not retried to the SQS DLQ).
    bigBody: Buffer.from(sms("bad-420kb", { data: { note: "y".repeat(420_000) } })),
    // A key part over DynamoDB's key size limit (h7input: dead-lettered).
    longSource: Buffer.from(sms("bad-long-source", { source: `/${"s".repeat(1_499)}` })),
  };
  const lines: Buffer[] = [];
  const lineOf: Record<string, number> = {};
  const order: (keyof typeof bad)[] = ["control", "oversize", "invalidUtf8", "bigBody", "longSource"];
  // Bad lines after good lines 2, 6, 10, 14 and 18: good lines follow each of them.
  good.forEach((g, i) => {
    lines.push(g);
    const k = order[[1, 5, 9, 13, 17].indexOf(i)];
    if (k) {
      lines.push(bad[k]);
      lineOf[k] = lines.length;
    }
  });
  await writeFile(file, Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")])));
  return {
    refusedLines: {
      control: lineOf.control ?? 0,
      oversize: lineOf.oversize ?? 0,
      invalidUtf8: lineOf.invalidUtf8 ?? 0,
    },
    storeLines: { bigBody: lineOf.bigBody ?? 0, longSource: lineOf.longSource ?? 0 },
    goodLines: good.length,
  };
}

/** The environment naming a local system as a configured stack, as a deployed one is named (contract §5). */
export const stackEnv = (system: LocalBillingSystem): NodeJS.ProcessEnv => ({
  ...process.env,
  BILLING_TABLE: system.tableName,
  AWS_REGION: "us-east-1",
  DYNAMODB_ENDPOINT: system.endpoints.dynamodb,
  SQS_ENDPOINT: system.endpoints.sqs,
  USAGE_QUEUE_URL: system.queueUrls.usage,
  USAGE_DLQ_URL: system.queueUrls.deadLetter,
});

/** `config load` of an example folder's accounts.json and tariffs.json (examples/basic by default). */
export const configLoadArgs = (dir: string = basic): string[] => [
  "config",
  "load",
  "--accounts",
  join(dir, "accounts.json"),
  "--tariffs",
  join(dir, "tariffs.json"),
];

/**
 * `simulate` of an example folder (examples/basic by default) into `out`: its events ingested and
 * July 2025 closed unless other `steps` are given; `accounts`/`tariffs` replace the folder's files.
 */
export function simulateArgs(
  out: string,
  {
    dir = basic,
    accounts = join(dir, "accounts.json"),
    tariffs = join(dir, "tariffs.json"),
    steps = [`ingest:${join(dir, "events.jsonl")}`, "close:2025-07"],
  }: { dir?: string; accounts?: string; tariffs?: string; steps?: readonly string[] } = {},
): string[] {
  return [
    "simulate",
    "--accounts",
    accounts,
    "--tariffs",
    tariffs,
    ...steps.flatMap((s) => ["--step", s]),
    "--out",
    out,
  ];
}

/**
 * One local system (real clock) per describe block for the stack commands, and `billing` run
 * against it as a configured stack (stackEnv); `env` may be replaced for a test and restored.
 */
export function useStackCommands(opts: { clock?: Clock } = {}) {
  let system: LocalBillingSystem | undefined;
  const ctx = {
    env: {} as NodeJS.ProcessEnv,
    get system(): LocalBillingSystem {
      if (!system) throw new Error("the local system is not started (use it inside the block's tests)");
      return system;
    },
    billing: (...args: string[]) => billing(args, ctx.env),
  };
  beforeAll(async () => {
    system = await startLocalBillingSystem({ clock: opts.clock ?? systemClock });
    ctx.env = stackEnv(system);
  });
  afterAll(async () => {
    await system?.stop();
  });
  return ctx;
}

/**
 * `billing simulate` stops every process it started (the DynamoDB Local JVM, the SQS server, the
 * pollers) when interrupted by SIGTERM or SIGINT, and when it fails. The signal is sent once the run
 * is known to be at a given point (a line on its stderr), never after a delay.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  alive,
  billing,
  billingJs,
  descendants,
  refused,
  root,
  STACK_LINE,
  simulateArgs,
} from "../support/cli.js";
import { usageBody } from "../support/scenario.js";

const LINES = 2_000;
let events: string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "billing-interrupt-"));
  events = join(dir, "events.jsonl");
  const line = (i: number) =>
    usageBody(
      "sms.mt",
      new Date(Date.UTC(2025, 6, 2) + i * 1000).toISOString(),
      { to: `9053211${String(i).padStart(5, "0")}`, country: "TR", status: "submitted" },
      { id: `sms-${i}`, source: "/interrupt-test" },
    );
  await writeFile(events, `${Array.from({ length: LINES }, (_, i) => line(i)).join("\n")}\n`);
});

const interruptedArgs = (out: string) => [
  billingJs,
  ...simulateArgs(out, { steps: [`ingest:${events}`, "close:2025-07"] }),
];

/** Starts simulate; resolves with what it printed once its stderr matches `ready`. */
function startUntil(ready: RegExp) {
  const child = spawn("node", interruptedArgs(join(dir, `out-${Math.random()}`)), {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  const reached = new Promise<RegExpExecArray>((done, fail) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const m = ready.exec(stderr);
      if (m) done(m);
    });
    void exited.then(() => fail(new Error(`simulate exited before ${ready}:\n${stderr}`)));
  });
  child.stdout?.resume();
  return { child, reached, exited, stderr: () => stderr };
}

async function interruptAndCheck(
  child: ChildProcess,
  signal: NodeJS.Signals,
  run: ReturnType<typeof startUntil>,
) {
  const m = /DynamoDB Local pid (\d+) at (\S+), SQS at (\S+)/.exec(run.stderr());
  expect(m, run.stderr()).not.toBeNull();
  const [, jvm, dynamo, sqs] = m ?? [];
  // Every process simulate started, seen while it runs (the JVM among them).
  const started = descendants(child.pid ?? -1);
  expect(started).toContain(Number(jvm));
  child.kill(signal);
  const { code } = await run.exited;
  expect(code, run.stderr()).toBe(signal === "SIGINT" ? 130 : 143);
  expect(run.stderr()).toContain(`${signal} received: stopping everything this command started`);
  expect(run.stderr()).not.toMatch(STACK_LINE);
  expect(started.filter(alive)).toEqual([]);
  expect(await refused(dynamo ?? "")).toBe(true);
  expect(await refused(sqs ?? "")).toBe(true);
}

describe("billing simulate, interrupted", () => {
  it("stops the JVM and everything else on SIGTERM once the local stack is up", async () => {
    const run = startUntil(/DynamoDB Local pid \d+/);
    await run.reached;
    await interruptAndCheck(run.child, "SIGTERM", run);
  }, 300_000);

  it("stops the JVM and everything else on SIGINT (Ctrl-C) in the middle of draining", async () => {
    const run = startUntil(/processed \d+\/\d+/);
    await run.reached;
    await interruptAndCheck(run.child, "SIGINT", run);
  }, 300_000);

  it("stops the JVM when the run fails, with a message and no stack trace", async () => {
    const blocker = join(dir, "a-file");
    await writeFile(blocker, "not a directory");
    const r = await billing(simulateArgs(join(blocker, "out")));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^billing: .*not a directory/m);
    expect(r.stderr).toContain("(run with --debug for the stack trace)");
    expect(r.stderr).not.toMatch(STACK_LINE);
    const m = /DynamoDB Local pid (\d+) at (\S+), SQS at (\S+)/.exec(r.stderr);
    expect(m).not.toBeNull();
    expect(alive(Number(m?.[1]))).toBe(false);
    expect(await refused(m?.[2] ?? "")).toBe(true);
  }, 300_000);
});

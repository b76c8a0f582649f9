/**
 * `billing stack start|stop --dir DIR` (issue 10 item 5): a local stack that stays up between
 * commands, detached from the command that started it; the stack commands work against it as they
 * would against a deployed stack, and its DynamoDB data survive a stop and a start.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { s3Client } from "../../shared/adapters/s3/blob-store.js";
import { alive, basic, billing, configLoadArgs, refused, simulateArgs } from "../support/cli.js";

/** The `export NAME='value'` lines of DIR/env as variables. */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^export ([A-Z0-9_]+)='((?:[^']|'\\'')*)'$/gm))
    env[m[1] as string] = (m[2] as string).replaceAll(`'\\''`, "'");
  return env;
}

/** Waits until the usage queue holds no message, visible or in flight (the stack's poller handled them). */
/** The usage queue's visible and in-flight counts, read once. */
async function usageQueueCounts(env: Record<string, string>): Promise<string[]> {
  const sqs = new SQSClient({
    region: env.AWS_REGION,
    endpoint: env.SQS_ENDPOINT,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    const r = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: env.USAGE_QUEUE_URL,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return [
      r.Attributes?.ApproximateNumberOfMessages ?? "?",
      r.Attributes?.ApproximateNumberOfMessagesNotVisible ?? "?",
    ];
  } finally {
    sqs.destroy();
  }
}

const azureExample = join(basic, "..", "azure-marketplace");

/** Every object of the stack's exports bucket, key → text. */
async function bucketObjects(env: Record<string, string>): Promise<Map<string, string>> {
  const s3 = s3Client({ region: env.AWS_REGION ?? "us-east-1", s3Endpoint: env.S3_ENDPOINT });
  const out = new Map<string, string>();
  try {
    let token: string | undefined;
    do {
      const r = await s3.send(
        new ListObjectsV2Command({ Bucket: env.EXPORTS_BUCKET, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? [])
        if (o.Key) {
          const body = await s3.send(new GetObjectCommand({ Bucket: env.EXPORTS_BUCKET, Key: o.Key }));
          out.set(o.Key, (await body.Body?.transformToString("utf-8")) ?? "");
        }
      token = r.NextContinuationToken;
    } while (token);
  } finally {
    s3.destroy();
  }
  return out;
}

describe("billing stack: a local stack that stays up", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (!dir) return;
    await billing(["stack", "stop", "--dir", dir]);
    await rm(dir, { recursive: true, force: true });
  });

  it("start → config load → ingest → close → export and API → stop → start → export and API give the lines of `billing simulate`", async () => {
    dir = await mkdtemp(join(tmpdir(), "billing-stack-dir-"));
    const stackDir = dir;
    // examples/basic is July 2025: the stack's clock starts just after it (on the real clock G5 would
    // refuse events more than 400 days old as too old).
    const start = await billing([
      "stack",
      "start",
      "--dir",
      stackDir,
      "--clock-start",
      "2025-08-01T00:00:00Z",
    ]);
    expect(start.code, start.stderr).toBe(0);
    const envText = await readFile(join(stackDir, "env"), "utf8");
    // Printed as written, every variable a stack command reads, every endpoint on loopback.
    expect(start.stdout).toBe(envText);
    const vars = parseEnvFile(envText);
    for (const name of [
      "BILLING_TABLE",
      "AWS_REGION",
      "USAGE_QUEUE_URL",
      "USAGE_DLQ_URL",
      "EXPORTS_BUCKET",
      "DYNAMODB_ENDPOINT",
      "SQS_ENDPOINT",
      "S3_ENDPOINT",
      "METERING_API_URL",
      "BILLING_API_URL",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
    ])
      expect(vars[name], name).toBeTruthy();
    for (const name of ["DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "METERING_API_URL", "BILLING_API_URL"])
      expect(vars[name]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const first = JSON.parse(await readFile(join(stackDir, "stack.json"), "utf8")) as {
      supervisorPid: number;
      dynamodbPid: number;
    };
    // Detached: the command that started it has exited, the stack still runs.
    expect(alive(first.supervisorPid)).toBe(true);
    expect(alive(first.dynamodbPid)).toBe(true);

    const env = { ...process.env, ...vars };
    const load = await billing(configLoadArgs(), env);
    expect(load.code, load.stderr).toBe(0);
    // No --drain: the stack's own poller runs the ingest handler.
    const ingest = await billing(["ingest", join(basic, "events.jsonl")], env);
    expect(ingest.code, ingest.stderr).toBe(0);
    // `billing ingest` on a local stack returns once the stack's poller has taken every message, so
    // the close that follows sees every event (no waiting here).
    expect(ingest.stderr).toMatch(/the local stack's ingest poller has taken every message/);
    expect(await usageQueueCounts(vars)).toEqual(["0", "0"]);
    const close = await billing(["close", "--period", "2025-07"], env);
    expect(close.code, close.stderr).toBe(0);
    expect(close.stdout).toMatch(/^acme 2025-07 closed: 12 lines, 225\.44 EUR$/m);
    const before = await billing(["export", "--out", join(stackDir, "before")], env);
    expect(before.code, before.stderr).toBe(0);
    // The finance API, as `curl "$BILLING_API_URL/…"` after `source DIR/env`: streamed CSV, and the
    // month-to-date preview of the closed period rating the same total.
    const apiBefore = await fetch(`${vars.BILLING_API_URL}/periods/2025-07/invoice-lines?format=csv`);
    expect(apiBefore.status).toBe(200);
    expect(apiBefore.headers.get("transfer-encoding")).toBe("chunked");
    const csvBefore = await apiBefore.text();
    const usage = await fetch(`${vars.BILLING_API_URL}/accounts/acme/usage?period=2025-07`);
    expect(usage.status).toBe(200);
    expect(await usage.json()).toMatchObject({ accountId: "acme", period: "2025-07", amount: "225.44" });

    const stop = await billing(["stack", "stop", "--dir", stackDir]);
    expect(stop.code, stop.stderr).toBe(0);
    // stop waits: nothing it started runs or listens any more.
    expect(alive(first.supervisorPid)).toBe(false);
    expect(alive(first.dynamodbPid)).toBe(false);
    for (const name of ["DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "METERING_API_URL", "BILLING_API_URL"])
      expect(await refused(vars[name] as string), name).toBe(true);

    const again = await billing(["stack", "start", "--dir", stackDir]);
    expect(again.code, again.stderr).toBe(0);
    const env2 = { ...process.env, ...parseEnvFile(await readFile(join(stackDir, "env"), "utf8")) };
    const after = await billing(["export", "--out", join(stackDir, "after")], env2);
    expect(after.code, after.stderr).toBe(0);

    const simulate = await billing([...simulateArgs(join(stackDir, "simulated")), "--quiet"]);
    expect(simulate.code, simulate.stderr).toBe(0);
    const csv = (d: string) => readFile(join(stackDir, d, "invoice-lines.csv"), "utf8");
    const simulated = await csv("simulated");
    expect(simulated.trim().split("\n")).toHaveLength(13);
    expect(await csv("before")).toBe(simulated);
    expect(csvBefore).toBe(simulated);
    expect(await csv("after")).toBe(simulated);
    // The finance API of the restarted stack serves the same lines.
    const api = await fetch(`${env2.BILLING_API_URL}/periods/2025-07/invoice-lines?format=csv`);
    expect(api.status).toBe(200);
    expect(await api.text()).toBe(simulated);

    const second = JSON.parse(await readFile(join(stackDir, "stack.json"), "utf8")) as {
      supervisorPid: number;
      dynamodbPid: number;
    };
    const stop2 = await billing(["stack", "stop", "--dir", stackDir]);
    expect(stop2.code, stop2.stderr).toBe(0);
    expect(alive(second.supervisorPid)).toBe(false);
    expect(alive(second.dynamodbPid)).toBe(false);
  }); // no limit of its own: vitest's 30 minutes only stop a real hang

  it("keeps the exports bucket and large dead-letter bodies across stop and start; runs the Marketplace reporter", async () => {
    const stackDir = await mkdtemp(join(tmpdir(), "billing-stack-keep-"));
    try {
      const start = await billing(["stack", "start", "--dir", stackDir]);
      expect(start.code, start.stderr).toBe(0);
      const vars = parseEnvFile(await readFile(join(stackDir, "env"), "utf8"));
      const env = { ...process.env, ...vars };
      const load = await billing(configLoadArgs(azureExample), env);
      expect(load.code, load.stderr).toBe(0);
      // The stack's reporter runs once it sees the new azure-marketplace account (then hourly):
      // reconcile says no reporter has run until then, and means something after.
      let reconcile = await billing(["marketplace", "reconcile", "--period", "2025-07"], env);
      for (let i = 0; reconcile.code !== 0 && i < 600; i++) {
        expect(reconcile.stderr).toMatch(/no Marketplace reporter has run yet for contoso/);
        await new Promise((r) => setTimeout(r, 200));
        reconcile = await billing(["marketplace", "reconcile", "--period", "2025-07"], env);
      }
      expect(reconcile.code, reconcile.stderr).toBe(0);
      expect(reconcile.stdout).toMatch(/^account_id,period,/);
      expect(await readFile(join(stackDir, "stack.log"), "utf8")).toMatch(
        /marketplace reporter \(new azure-marketplace accounts\): 1 accounts/,
      );

      // Usage, a message for an account nobody configured whose body is over the 8 KiB excerpt
      // (kept whole in the bucket), the close and the export (objects and manifest in the bucket).
      const events = join(stackDir, "events.jsonl");
      const big = JSON.stringify({
        specversion: "1.0",
        id: "big-1",
        source: "/keep-test",
        type: "sms.mt",
        subject: "nobody-yet",
        time: "2025-07-02T10:00:00Z",
        data: { to: "905321110001", country: "TR", status: "submitted", note: "n".repeat(20_000) },
      });
      await writeFile(events, `${await readFile(join(azureExample, "events.jsonl"), "utf8")}\n${big}\n`);
      const ingest = await billing(["ingest", events], env);
      expect(ingest.code, ingest.stderr).toBe(0);
      const letters = await billing(["dead-letters", "list", "--source", "/keep-test"], env);
      const letterId = letters.stdout.trim().split("\t")[0] ?? "";
      expect(letters.stdout).toContain("big-1");
      expect((await billing(["close", "--period", "2025-07"], env)).code).toBe(0);
      const exported = await billing(["export", "--period", "2025-07", "--out", join(stackDir, "out")], env);
      expect(exported.code, exported.stderr).toBe(0);
      const before = await bucketObjects(vars);
      expect([...before.keys()].some((k) => k.startsWith("dead-letters/"))).toBe(true);
      expect(before.has("invoice-lines/period=2025-07/_manifest.json")).toBe(true);

      expect((await billing(["stack", "stop", "--dir", stackDir])).code).toBe(0);
      const again = await billing(["stack", "start", "--dir", stackDir]);
      expect(again.code, again.stderr).toBe(0);
      const vars2 = parseEnvFile(await readFile(join(stackDir, "env"), "utf8"));
      const env2 = { ...process.env, ...vars2 };

      // Every object is back, byte for byte, and the manifest names only objects that exist.
      const after = await bucketObjects(vars2);
      expect(after).toEqual(before);
      const manifest = JSON.parse(after.get("invoice-lines/period=2025-07/_manifest.json") ?? "{}") as {
        accounts: number;
        objects: { csv: { key: string; sha256: string } }[];
      };
      expect(manifest.accounts).toBe(2);
      for (const o of manifest.objects)
        expect(
          createHash("sha256")
            .update(after.get(o.csv.key) ?? "missing")
            .digest("hex"),
        ).toBe(o.csv.sha256);
      // The large dead letter can still be redriven whole.
      const redrive = await billing(["dead-letters", "redrive", "--id", letterId], env2);
      expect(redrive.code, redrive.stderr).toBe(0);
      expect(redrive.stdout).toMatch(/^redriven: 1 from the dead-letter store/m);
      expect(redrive.stderr).not.toMatch(/only an excerpt/);
    } finally {
      await billing(["stack", "stop", "--dir", stackDir]);
      await rm(stackDir, { recursive: true, force: true });
    }
  });

  it("refuses a missing --dir or subcommand as a usage error", async () => {
    const r = await billing(["stack", "start"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stack start needs --dir DIR/);
    const s = await billing(["stack", "restart", "--dir", "/tmp/x"]);
    expect(s.code).toBe(2);
  });
});

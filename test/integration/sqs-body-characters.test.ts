/**
 * The embedded SQS server takes every body SQS takes and refuses what SQS refuses (its documented
 * set: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF), thanks to the
 * install-time patch of fauxqs (scripts/patch-fauxqs.mjs); and the patch itself is idempotent and
 * refuses a file it does not know.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SqsServer, startSqsServer } from "../../local/sqs-server.js";

const patch = (file: string) => spawnSync("node", ["scripts/patch-fauxqs.mjs", file], { encoding: "utf8" });

describe("the fauxqs patch", () => {
  it("fixes the known line once, leaves a fixed file alone, and fails on an unknown one", () => {
    const dir = mkdtempSync(join(tmpdir(), "fauxqs-patch-"));
    const file = join(dir, "sqsTypes.js");
    writeFileSync(
      file,
      "export const X = 1;\nexport const INVALID_MESSAGE_BODY_CHAR = /[^\\x09\\x0A\\x0D\\x20-\\uD7FF\\uE000-\\uFFFD]/;\n",
    );
    expect(patch(file).status).toBe(0);
    const fixed = readFileSync(file, "utf8");
    expect(fixed).toContain("\\u{10000}-\\u{10FFFF}]/u;");
    expect(patch(file).status).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(fixed);
    writeFileSync(file, "export const INVALID_MESSAGE_BODY_CHAR = /something else/;\n");
    const r = patch(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/fauxqs changed/);
  });
});

describe("the embedded SQS server's body check (patched fauxqs)", () => {
  let server: SqsServer;
  let sqs: SQSClient;
  beforeAll(async () => {
    server = await startSqsServer();
    sqs = new SQSClient({
      region: "us-east-1",
      endpoint: server.endpoint,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  });
  afterAll(async () => {
    sqs?.destroy();
    await server?.stop();
  });

  it("takes characters above U+FFFF and refuses controls, U+FFFE/U+FFFF and lone surrogates", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "chars" }));
    const accepted = [
      "emoji 😀 and 𝄞 (U+1D11E)",
      "U+10FFFF: \u{10FFFF}",
      "tab\tand\r\nnewlines, U+FFFD \uFFFD",
    ];
    const refused = ["control \u0001", "U+FFFE \uFFFE", "U+FFFF \uFFFF", "lone high \ud800 surrogate"];
    const r = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [...accepted, ...refused].map((MessageBody, i) => ({ Id: String(i), MessageBody })),
      }),
    );
    expect((r.Successful ?? []).map((s) => Number(s.Id)).sort()).toEqual([0, 1, 2]);
    expect((r.Failed ?? []).map((f) => [Number(f.Id), f.Code]).sort()).toEqual(
      [3, 4, 5, 6].map((i) => [i, "InvalidMessageContents"]),
    );
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    expect((got.Messages ?? []).map((m) => m.Body).sort()).toEqual([...accepted].sort());
  });
});

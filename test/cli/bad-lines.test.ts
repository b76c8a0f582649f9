/**
 * Issue 7: one ingest file holding every kind of line that cannot be sent (a raw control character,
 * a body over the SQS size limit, invalid UTF-8) and lines too large for a DynamoDB item, among good
 * lines, through `billing simulate`: the good lines are billed exactly, each bad line is a dead letter
 * naming the file and the line, the run completes and writes its exports, and nothing is left running.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  alive,
  billing,
  type CliResult,
  refused,
  STACK_LINE,
  simulateArgs,
  writeBadLinesFile,
} from "../support/cli.js";

describe("billing simulate with an ingest file full of bad lines", () => {
  let file: string;
  let out: string;
  let layout: Awaited<ReturnType<typeof writeBadLinesFile>>;
  let r: CliResult;
  let report: {
    reports: { accountId: string; lines: number; totals: { amount: string } }[];
    deadLetters: { deadLetterId: string; subject: string | null; reason: string }[];
    refusedLines: { deadLetterId: string; file: string; line: number; reason: string }[];
  };

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "billing-bad-lines-"));
    file = join(dir, "events.jsonl");
    out = join(dir, "out");
    layout = await writeBadLinesFile(file);
    r = await billing(simulateArgs(out, { steps: [`ingest:${file}`, "close:2025-07"] }));
    report = JSON.parse(await readFile(join(out, "close-report.json"), "utf8"));
  }, 300_000);

  it("completes, bills exactly the good lines and writes every export", async () => {
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(STACK_LINE);
    // examples/basic alone: 12 lines, 225.44 EUR; a bad line charged by mistake would add 0.05.
    expect(r.stdout).toMatch(/^acme\s+2025-07\s+direct\s+12\s+225\.44 EUR/m);
    expect(report.reports).toHaveLength(1);
    expect(report.reports[0]?.totals.amount).toBe("225.44");
    const lines = JSON.parse(await readFile(join(out, "invoice-lines.json"), "utf8")) as { amount: string }[];
    expect(lines).toHaveLength(12);
    expect(
      lines.reduce((s, l) => s + Math.round(Number(l.amount) * 100), 0),
      "sum of the invoice lines in cents",
    ).toBe(22_544);
    expect(r.stderr).toMatch(/stored 23, duplicates 1/);
    for (const f of ["invoice-lines.csv", "marketplace-usage.json"])
      expect((await readFile(join(out, f), "utf8")).length).toBeGreaterThan(0);
  });

  it("dead-letters each line the queue refuses, naming the file, the line and the reason", () => {
    const { control, oversize, invalidUtf8 } = layout.refusedLines;
    const expected = [
      { line: control, reason: /character U\+0001 at character \d+ is not allowed in an SQS message/ },
      { line: oversize, reason: /\d+ bytes is over the queue's message size limit of 1048576 bytes/ },
      { line: invalidUtf8, reason: /not valid UTF-8 \(byte 0xC3 at byte offset \d+\)/ },
    ];
    expect(r.stderr).toMatch(new RegExp(`sent ${layout.goodLines + 2} messages, refused 3 lines`));
    expect(report.refusedLines.map((l) => [l.file, l.line])).toEqual(expected.map((e) => [file, e.line]));
    expected.forEach((e, i) => {
      const entry = report.refusedLines[i];
      expect(entry?.reason).toMatch(e.reason);
      expect(entry?.reason.startsWith(`${file} line ${e.line}: `)).toBe(true);
      // The dead letter itself, as the close report lists it.
      expect(report.deadLetters.find((d) => d.deadLetterId === entry?.deadLetterId)?.reason).toBe(
        entry?.reason,
      );
      // The simulate summary lists it too.
      expect(r.stdout).toContain(`  ${file} line ${e.line}: `);
    });
    expect(r.stdout).toMatch(/^refused lines \(not sent, in the dead-letter store\): 3$/m);
  });

  it("leaves no process running and no port open", async () => {
    const m = /DynamoDB Local pid (\d+) at (\S+), SQS at (\S+)/.exec(r.stderr);
    expect(m).not.toBeNull();
    const [, pid, dynamo, sqs] = m ?? [];
    expect(alive(Number(pid))).toBe(false);
    expect(await refused(dynamo ?? "")).toBe(true);
    expect(await refused(sqs ?? "")).toBe(true);
  });

  // Depends on h7input (issue 7, validation part): the store dead-letters bodies too large for a
  // DynamoDB item instead of failing until SQS moves them to its dead-letter queue.
  it("dead-letters the 420 KB body and the 1,500-character source instead of losing them to the SQS DLQ", () => {
    expect(r.stderr).not.toMatch(/moved to the SQS dead-letter queue/);
    const refusedIds = new Set(report.refusedLines.map((l) => l.deadLetterId));
    const others = report.deadLetters.filter((d) => !refusedIds.has(d.deadLetterId));
    expect(others).toHaveLength(2);
    expect(others.every((d) => d.subject === "acme" && d.reason.length > 0)).toBe(true);
  });
});

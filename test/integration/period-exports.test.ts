/**
 * Exports by period in the bucket (issue 10 item 1), on the local stack
 * (DynamoDB Local, fauxqs's S3): examples/late-events (July closed, late July events, August closed
 * with adjustments) plus two accounts without usage, one with an id that needs URL-encoding. Every
 * object is read back with the S3 client and compared with what the table holds.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DuckDBInstance } from "@duckdb/node-api";
import { Decimal } from "decimal.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { periodIndexItem, periodShardsPrefix } from "../../shared/adapters/dynamodb/items/period-index.js";
import { s3Client } from "../../shared/adapters/s3/blob-store.js";
import { S3ExportObjects } from "../../shared/adapters/s3/export-objects.js";
import {
  exportClosedAccount,
  readClosedAccount,
  readClosedPeriod,
  writePeriodManifest,
} from "../../shared/app/period-exports.js";
import { readPeriodBilling } from "../../shared/app/period-report.js";
import { invoiceLineColumns, invoiceLineSchema } from "../../shared/contract/invoice-line.js";
import { accountExportKeys, manifestKey } from "../../shared/core/period-exports.js";
import { invoiceLinesToCsv, sortInvoiceLines } from "../../shared/core/rating/invoice.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { billing, localSystemEnv, root as projectRoot } from "../support/cli.js";
import { parseCsv } from "../support/csv.js";
import { recordDynamoDbRequests } from "../support/dynamodb-request-log.js";
import { runLateEventsExample } from "../support/late-events-example.js";
import { allLines } from "../support/table-scans.js";

const fixedClock = (at: string): Clock => ({ now: () => Date.parse(at) });

const ODD = "odd/ü id+1";
const ACCOUNTS = ["idle-co", "lateco", ODD];
const PERIODS = ["2025-07", "2025-08"];

/** The table definitions shipped for the bucket's layout (docs/tables/). */
const tableFile = (engine: "athena" | "duckdb") =>
  join(projectRoot, "docs", "tables", `invoice-lines.${engine}.sql`);

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

describe("exports by period in the bucket", () => {
  let system: LocalBillingSystem;
  let s3: S3Client;
  const dir = mkdtempSync(join(tmpdir(), "billing-period-exports-"));
  /** Every DynamoDB command sent while recording, with its input. */
  const commands: { name: string; input: string }[] = [];
  let recording = false;

  const text = async (key: string): Promise<string> => {
    const r = await s3.send(new GetObjectCommand({ Bucket: system.exportsBucket, Key: key }));
    return (await r.Body?.transformToString("utf-8")) ?? "";
  };
  /** Every object under a prefix, key → text. */
  const objectsUnder = async (prefix: string): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    let token: string | undefined;
    do {
      const r = await s3.send(
        new ListObjectsV2Command({ Bucket: system.exportsBucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) if (o.Key) out.set(o.Key, await text(o.Key));
      token = r.NextContinuationToken;
    } while (token);
    return out;
  };
  const exportDeps = () => ({
    periods: system.store,
    index: system.store,
    objects: new S3ExportObjects(s3, system.exportsBucket),
  });

  beforeAll(async () => {
    system = await startLocalBillingSystem({
      clock: systemClock,
      // Received just after its 2025 events (G5 refuses events more than 400 days before receipt).
      receiptClock: fixedClock("2025-08-02T12:00:00Z"),
    });
    s3 = s3Client({ region: "us-east-1", s3Endpoint: system.endpoints.s3 });
    system.dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        if (recording) commands.push({ name: context.commandName ?? "?", input: JSON.stringify(args.input) });
        return next(args);
      },
      { step: "initialize", name: "recordPeriodReads" },
    );
    await runLateEventsExample(system, (config) => ({
      ...config,
      accounts: [
        ...config.accounts,
        { ...config.accounts[0]!, accountId: ODD },
        { ...config.accounts[0]!, accountId: "idle-co" },
      ],
    }));
  });
  afterAll(async () => {
    s3?.destroy();
    await system?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("each close wrote every account's lines (CSV, JSON, JSON Lines) and report, equal to the table's", async () => {
    let adjustments = 0;
    for (const period of PERIODS)
      for (const accountId of ACCOUNTS) {
        const closed = await readClosedAccount(system.store, accountId, period);
        expect(closed, `${accountId} ${period}`).toBeDefined();
        const lines = sortInvoiceLines([...closed!.lines]);
        const keys = accountExportKeys(period, accountId);
        expect(keys.csv).toBe(
          `invoice-lines/period=${period}/account=${encodeURIComponent(accountId)}/lines.csv`,
        );
        const csv = await text(keys.csv);
        expect(csv).toBe(invoiceLinesToCsv(lines));
        const json = await text(keys.json);
        // Contract §4's array, each line with the columns' keys in their order (the table keeps no order).
        expect(JSON.parse(json)).toEqual(lines);
        for (const l of JSON.parse(json) as Record<string, string>[]) {
          invoiceLineSchema.parse(l);
          expect(Object.keys(l)).toEqual([...invoiceLineColumns]);
        }
        const jsonl = await text(keys.jsonl);
        expect(
          jsonl
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l)),
        ).toEqual(lines);
        const report = await text(keys.report);
        expect(report.trimEnd()).not.toContain("\n"); // one JSON line: Athena's JSON SerDe reads it
        expect(JSON.parse(report)).toEqual(closed!.report);
        // The period index entry records each object's size and SHA-256.
        const entry = await system.store.closedAccount(accountId, period);
        expect(entry?.exports?.lines).toBe(lines.length);
        for (const [k, body] of [
          ["csv", csv],
          ["json", json],
          ["jsonl", jsonl],
          ["report", report],
        ] as const)
          expect(entry?.exports?.[k]).toEqual({
            key: keys[k],
            bytes: Buffer.byteLength(body),
            sha256: sha256(body),
          });
        // The close wrote them from what it committed: a re-export read back from the table
        // gives the same bytes.
        expect(await exportClosedAccount(exportDeps(), accountId, period, { force: true })).toEqual(
          entry?.exports,
        );
        adjustments += lines.filter((l) => l.line_type === "adjustment").length;
      }
    // August's close billed late July events as adjustments: they are in August's objects.
    expect(adjustments).toBe(3);
    // Without usage an account is still billed its package fee: every account has lines.
    expect(
      (await readClosedAccount(system.store, "idle-co", "2025-07"))!.lines.map((l) => l.line_type),
    ).toEqual(["package_fee"]);
  });

  it("a re-close writes the same objects; a close that crashed before its exports is repaired", async () => {
    const before = await objectsUnder("invoice-lines/period=2025-08/");
    const reportsBefore = await objectsUnder("close-reports/period=2025-08/");
    expect(before.size).toBe(2 * ACCOUNTS.length);
    const again = await system.close("2025-08");
    expect(again.map((r) => r.status)).toEqual(ACCOUNTS.map(() => "already-closed"));
    expect(await objectsUnder("invoice-lines/period=2025-08/")).toEqual(before);

    // The crash: lateco's August close committed, its objects never written (entry without exports).
    const entry = await system.store.closedAccount("lateco", "2025-08");
    const keys = accountExportKeys("2025-08", "lateco");
    for (const key of Object.values(keys))
      await s3.send(new DeleteObjectCommand({ Bucket: system.exportsBucket, Key: key }));
    await DynamoDBDocumentClient.from(system.dynamodb).send(
      new UpdateCommand({
        TableName: system.tableName,
        Key: periodIndexItem.key({ accountId: "lateco", period: "2025-08" }),
        UpdateExpression: "REMOVE #exports",
        ExpressionAttributeNames: periodIndexItem.names("exports"),
      }),
    );
    expect((await system.store.closedAccount("lateco", "2025-08"))?.exports).toBeUndefined();
    // The close request delivered again: already closed, its missing objects written, the same bytes.
    await system.close("2025-08", ["lateco"]);
    expect(await objectsUnder("invoice-lines/period=2025-08/")).toEqual(before);
    expect(await objectsUnder("close-reports/period=2025-08/")).toEqual(reportsBefore);
    expect(await system.store.closedAccount("lateco", "2025-08")).toEqual(entry);
  });

  it("the period manifest lists every account's objects, in parts past the part size", async () => {
    const entries = await system.store.closedAccounts("2025-08");
    expect(entries.map((e) => e.accountId)).toEqual(ACCOUNTS);
    const written = await writePeriodManifest(exportDeps(), "2025-08");
    expect(written).toMatchObject({ accounts: 3, keys: [manifestKey("2025-08")] });
    const manifest = JSON.parse(await text(manifestKey("2025-08")));
    const listed = entries.map((e) => ({ accountId: e.accountId, ...e.exports }));
    expect(manifest).toEqual({
      period: "2025-08",
      accounts: 3,
      lines: listed.reduce((s, e) => s + (e.lines ?? 0), 0),
      objects: listed,
    });
    expect(manifest.lines).toBe(written.lines);
    // The same index gives the same bytes.
    const first = await text(manifestKey("2025-08"));
    await writePeriodManifest(exportDeps(), "2025-08");
    expect(await text(manifestKey("2025-08"))).toBe(first);

    // Two accounts a part: the head names two parts, which list the same objects in order.
    const sharded = await writePeriodManifest(exportDeps(), "2025-08", { partAccounts: 2 });
    expect(sharded.keys).toEqual([
      manifestKey("2025-08", 1),
      manifestKey("2025-08", 2),
      manifestKey("2025-08"),
    ]);
    const head = JSON.parse(await text(manifestKey("2025-08")));
    expect(head).toEqual({
      period: "2025-08",
      accounts: 3,
      lines: manifest.lines,
      parts: [manifestKey("2025-08", 1), manifestKey("2025-08", 2)],
    });
    const parts = await Promise.all(head.parts.map(async (k: string) => JSON.parse(await text(k))));
    expect(parts.map((p) => p.part)).toEqual([1, 2]);
    expect(parts.flatMap((p) => p.objects)).toEqual(listed);
  });

  it("reading a period goes through the period index: no Scan, no key of another period", async () => {
    const all = await allLines(system.store); // the scan, outside the recording: what the table holds
    commands.length = 0;
    recording = true;
    const july = await readClosedPeriod(system.store, "2025-07");
    await writePeriodManifest(exportDeps(), "2025-07");
    recording = false;
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.filter((c) => c.name === "ScanCommand")).toEqual([]);
    expect(commands.filter((c) => c.input.includes("2025-08"))).toEqual([]);
    expect(commands.some((c) => c.input.includes(periodShardsPrefix("2025-07")))).toBe(true);
    expect(sortInvoiceLines(july.lines)).toEqual(sortInvoiceLines(all.filter((l) => l.period === "2025-07")));
    expect(all.some((l) => l.period === "2025-08")).toBe(true);
    expect(july.reports.map((r) => r.accountId)).toEqual(ACCOUNTS);
  });

  it("the finance API's period read, past 16 configured accounts, reads only the accounts the index lists", async () => {
    const config = await system.store.loadConfig();
    const unclosed = Array.from({ length: 20 }, (_, i) => ({
      ...config.accounts[0]!,
      accountId: `never-${i}`,
    }));
    const deps = {
      periods: system.store,
      config: async () => ({ ...config, accounts: [...config.accounts, ...unclosed] }),
    };
    commands.length = 0;
    recording = true;
    const billing = await readPeriodBilling(deps, "2025-08");
    recording = false;
    expect(commands.filter((c) => c.name === "ScanCommand")).toEqual([]);
    expect(commands.filter((c) => c.input.includes("never-"))).toEqual([]);
    expect(billing.reports.map((r) => r.accountId).sort()).toEqual(ACCOUNTS);
    const direct = await readClosedPeriod(system.store, "2025-08");
    expect(sortInvoiceLines(billing.lines)).toEqual(sortInvoiceLines(direct.lines));
  });

  it("billing export --period writes the period's files and rebuilds its manifest in the bucket", async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: system.exportsBucket, Key: manifestKey("2025-07") }));
    const out = join(dir, "export-07");
    const r = await billing(["export", "--period", "2025-07", "--out", out], localSystemEnv(system));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("2025-07: manifest of 3 accounts");
    const july = await readClosedPeriod(system.store, "2025-07");
    expect(await readFile(join(out, "invoice-lines.csv"), "utf8")).toBe(
      invoiceLinesToCsv(sortInvoiceLines(july.lines)),
    );
    const reports = JSON.parse(await readFile(join(out, "close-report.json"), "utf8")).reports;
    expect(reports.map((x: { accountId: string; period: string }) => [x.accountId, x.period])).toEqual(
      ACCOUNTS.map((a) => [a, "2025-07"]),
    );
    expect(JSON.parse(await text(manifestKey("2025-07"))).accounts).toBe(3);
  });

  it("billing export of a period with no closed account exits 2 and writes nothing, here or in the bucket", async () => {
    const out = join(dir, "export-never");
    const env = localSystemEnv(system);
    const r = await billing(["export", "--period", "2024-01", "--out", out], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^billing: period 2024-01 has no closed account: nothing exported \(close it first: `billing close --period 2024-01`\)$/m,
    );
    expect(r.stderr).not.toMatch(/manifest/);
    expect(existsSync(out)).toBe(false);
    expect([...(await objectsUnder("invoice-lines/period=2024-01/")).keys()]).toEqual([]);
    // The page for finance likewise: no page for a month nobody closed.
    const page = await billing(["report", "--period", "2024-01", "--out", out], env);
    expect(page.code).toBe(2);
    expect(page.stderr).toMatch(/^billing: period 2024-01 has no closed account: no report written/m);
    expect(existsSync(out)).toBe(false);
  });

  it("the shipped DuckDB table reads the bucket's CSV objects as decimals: sums equal the CSV's to the cent", async () => {
    // A copy of the bucket's two closed periods, as `aws s3 sync` would make it.
    const root = join(dir, "bucket-copy");
    const csvObjects = new Map<string, string>();
    for (const period of PERIODS)
      for (const [key, body] of await objectsUnder(`invoice-lines/period=${period}/`)) {
        await mkdir(dirname(join(root, key)), { recursive: true });
        await writeFile(join(root, key), body);
        if (key.endsWith("/lines.csv")) csvObjects.set(key, body);
      }
    expect(csvObjects.size).toBe(PERIODS.length * ACCOUNTS.length);
    // Account folders are URL-encoded: DuckDB's glob must find the odd id's folder too.
    expect([...csvObjects.keys()].some((k) => k.includes(encodeURIComponent(ODD)))).toBe(true);

    const duck = await (await DuckDBInstance.create(":memory:")).connect();
    try {
      await duck.run(`SET VARIABLE exports_root = '${root.replaceAll("'", "''")}'`);
      await duck.run(await readFile(tableFile("duckdb"), "utf8"));
      const types = (await duck.runAndReadAll("DESCRIBE invoice_lines")).getRowObjectsJS();
      expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toMatchObject({
        quantity: "DECIMAL(38,12)",
        unit_price: "DECIMAL(38,12)",
        amount: "DECIMAL(38,4)",
      });
      expect(types.map((t) => t.column_name)).toEqual([...invoiceLineColumns]);

      // The CSV objects' rows, summed exactly (decimal.js), per period, currency and channel.
      const rows = [...csvObjects.values()].flatMap((body) => {
        const [header, ...lines] = parseCsv(body);
        return lines.map((l) => Object.fromEntries((header ?? []).map((h, i) => [h, l[i] ?? ""])));
      });
      const expected = new Map<string, { amount: Decimal; lines: number }>();
      for (const l of rows) {
        const k = `${l.period}|${l.currency}|${l.billing_channel}`;
        const e = expected.get(k) ?? { amount: new Decimal(0), lines: 0 };
        expected.set(k, { amount: e.amount.plus(l.amount ?? "0"), lines: e.lines + 1 });
      }
      const sums = (
        await duck.runAndReadAll(
          "SELECT period, currency, billing_channel, sum(amount)::VARCHAR AS amount, count(*)::INTEGER AS lines FROM invoice_lines GROUP BY ALL ORDER BY ALL",
        )
      ).getRowObjectsJS();
      expect(sums.length).toBe(expected.size);
      for (const s of sums) {
        const e = expected.get(`${s.period}|${s.currency}|${s.billing_channel}`);
        expect(e, JSON.stringify(s)).toBeDefined();
        expect(new Decimal(String(s.amount)).eq(e!.amount), `${s.amount} vs ${e!.amount}`).toBe(true);
        expect(Number(s.lines)).toBe(e!.lines);
      }
      // Every value exactly as written, line by line: no scale too small for a quantity or price.
      const read = (
        await duck.runAndReadAll(
          "SELECT line_id, quantity::VARCHAR AS quantity, unit_price::VARCHAR AS unit_price, amount::VARCHAR AS amount FROM invoice_lines",
        )
      ).getRowObjectsJS();
      expect(read.length).toBe(rows.length);
      const byId = new Map(rows.map((l) => [l.line_id, l]));
      for (const d of read)
        for (const c of ["quantity", "unit_price", "amount"] as const)
          expect(
            new Decimal(String(d[c])).eq(byId.get(String(d.line_id))?.[c] ?? "NaN"),
            `${d.line_id} ${c}`,
          ).toBe(true);
    } finally {
      duck.closeSync();
    }
  });

  it("the Athena table names the same columns as the contract, and its view the DuckDB table's decimal types", async () => {
    const athena = await readFile(tableFile("athena"), "utf8");
    const raw = /CREATE EXTERNAL TABLE IF NOT EXISTS invoice_lines_raw \(([^)]*)\)/.exec(athena)?.[1] ?? "";
    const rawColumns = raw
      .split(",")
      .map((c) => c.trim().split(/\s+/))
      .filter((c) => c.length === 2);
    // `period` is the partition column (the folder's value), not a data column.
    expect(rawColumns.map(([name]) => name)).toEqual(invoiceLineColumns.filter((c) => c !== "period"));
    expect(rawColumns.every(([, type]) => type === "string")).toBe(true);
    expect(athena).toMatch(/PARTITIONED BY \(period string\)/);
    const casts = Object.fromEntries(
      [...athena.matchAll(/CAST\((\w+) AS (DECIMAL\(\d+,\d+\))\) AS (\w+)/g)].map((m) => [m[1], m[2]]),
    );
    const duckdb = await readFile(tableFile("duckdb"), "utf8");
    const duckDecimals = Object.fromEntries(
      [...duckdb.matchAll(/'(\w+)': '(DECIMAL\(\d+,\d+\))'/g)].map((m) => [m[1], m[2]]),
    );
    expect(casts).toEqual(duckDecimals);
    expect(Object.keys(casts).sort()).toEqual(["amount", "quantity", "unit_price"]);
  });

  it("billing export without --period reads every closed period through the index: no Scan (requests counted)", async () => {
    const log = await recordDynamoDbRequests(system.endpoints.dynamodb);
    try {
      const out = join(dir, "export-all");
      const r = await billing(["export", "--out", out], {
        ...localSystemEnv(system),
        DYNAMODB_ENDPOINT: log.endpoint,
      });
      expect(r.code, r.stderr).toBe(0);
      const [july, august] = await Promise.all([
        readClosedPeriod(system.store, "2025-07"),
        readClosedPeriod(system.store, "2025-08"),
      ]);
      expect(await readFile(join(out, "invoice-lines.csv"), "utf8")).toBe(
        invoiceLinesToCsv(sortInvoiceLines([...july.lines, ...august.lines])),
      );
      expect(log.operations).toContain("Query");
      // Before, the marketplace usage of every account was a filtered Scan of the whole table.
      expect(log.operations.filter((o) => o === "Scan")).toEqual([]);
    } finally {
      await log.close();
    }
  });

  it("streams an object past 5 MB as a multipart upload, hashed as it goes", async () => {
    const row = `${"x".repeat(99)}\n`;
    function* chunks() {
      for (let i = 0; i < 700; i++) yield row.repeat(100); // 7,000,000 bytes in 10 KB chunks
    }
    const key = "invoice-lines/period=2099-01/account=big/lines.csv";
    const written = await new S3ExportObjects(s3, system.exportsBucket).write(key, chunks(), "text/csv");
    const body = row.repeat(70_000);
    expect(written).toEqual({ key, bytes: 7_000_000, sha256: sha256(body) });
    expect(await text(key)).toBe(body);
    // An account without lines has an empty JSON Lines object.
    const empty = "invoice-lines/jsonl/period=2099-01/account=none/lines.jsonl";
    expect(
      await new S3ExportObjects(s3, system.exportsBucket).write(empty, [], "application/x-ndjson"),
    ).toEqual({
      key: empty,
      bytes: 0,
      sha256: sha256(""),
    });
    expect(await text(empty)).toBe("");
  });
});

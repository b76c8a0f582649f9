/**
 * The finance page of a period (issue 10 item 4) checked in a real browser: examples/late-events
 * (July closed, late July events, August closed with adjustments) on the local stack, the page read
 * from storage by key (no scan), written by `billing report`, then loaded in Debian's headless
 * Chromium through playwright-core: its DOM is asserted and a screenshot saved under out/ (gitignored).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, statSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { httpApiEvent, startFinanceApiServer } from "../../local/finance-api-server.js";
import { createFinanceApi } from "../../shared/app/finance-api.js";
import { periodReportHtml } from "../../shared/app/period-report.js";
import { type Clock, systemClock } from "../../shared/ports/clock.js";
import { localSystemEnv } from "../support/cli.js";
import { runLateEventsExample } from "../support/late-events-example.js";

const fixedClock = (at: string): Clock => ({ now: () => Date.parse(at) });

const root = resolve(import.meta.dirname, "..", "..");
const run = promisify(execFile);

describe("the finance page in headless Chromium", () => {
  let system: LocalBillingSystem;
  const dir = mkdtempSync(join(tmpdir(), "billing-report-"));
  /** Every DynamoDB command the page's reads send. */
  const commands: string[] = [];
  let recording = false;

  beforeAll(async () => {
    system = await startLocalBillingSystem({
      clock: systemClock,
      // Received just after its 2025 events (G5 refuses events more than 400 days before receipt).
      receiptClock: fixedClock("2025-08-02T12:00:00Z"),
    });
    system.dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        if (recording) commands.push(context.commandName ?? "?");
        return next(args);
      },
      { step: "initialize", name: "recordReportReads" },
    );
    await runLateEventsExample(system);
  });
  afterAll(async () => {
    await system?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("billing report writes the page and its exports; the browser shows totals, accounts, chart bars and adjustments", async () => {
    // The page as the API would serve it, from storage: key reads only, never a scan.
    recording = true;
    const fromStore = await periodReportHtml(
      { periods: system.store, config: () => system.store.loadConfig() },
      "2025-08",
      {
        csv: "invoice-lines-2025-08.csv",
        json: "invoice-lines-2025-08.json",
        closeReport: "close-report-2025-08.json",
      },
    );
    recording = false;
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.filter((c) => c === "ScanCommand")).toEqual([]);

    const out = join(dir, "report");
    await run("node", [join(root, "bin", "billing.js"), "report", "--period", "2025-08", "--out", out], {
      cwd: root,
      env: localSystemEnv(system),
    });
    const page = join(out, "report-2025-08.html");
    expect(await readFile(page, "utf8")).toBe(fromStore);
    const csv = (await readFile(join(out, "invoice-lines-2025-08.csv"), "utf8")).trim().split("\n");
    expect(csv).toHaveLength(1 + 5); // header, 3 adjustments of July, August's own 2 lines
    expect(JSON.parse(await readFile(join(out, "invoice-lines-2025-08.json"), "utf8"))).toHaveLength(5);

    // A fresh profile (--user-data-dir) of its own, removed with the test's directory.
    const profile = join(dir, "chromium-profile");
    mkdirSync(profile);
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const tab = await browser.newPage();
      const requests: string[] = [];
      tab.on("request", (r) => requests.push(r.url()));
      await tab.goto(pathToFileURL(page).href, { waitUntil: "load" });
      // Self-contained: the page itself is the only thing loaded.
      expect(requests).toEqual([pathToFileURL(page).href]);
      expect(await tab.title()).toBe("Billing report 2025-08");

      const totals = tab.locator("#totals tbody tr");
      expect(await totals.count()).toBe(1);
      expect(await totals.first().getAttribute("data-currency")).toBe("EUR");
      expect(await totals.first().getAttribute("data-channel")).toBe("direct");
      const cells = await totals.first().locator("td").allInnerTexts();
      // Currency, channel, accounts, lines, amount, previous (July: 100.31), change, change %.
      expect(cells).toEqual(["EUR", "direct", "1", "5", "101.27", "100.31", "+0.96", "+1.0 %"]);

      const accounts = tab.locator("#largest-accounts tbody tr");
      expect(await accounts.count()).toBe(1);
      expect(await accounts.first().getAttribute("data-account")).toBe("lateco");

      const bars = tab.locator("svg.chart[data-currency='EUR'] rect.bar");
      expect(await bars.count()).toBe(3);
      const families = await bars.evaluateAll((rects) =>
        rects.map((r) => ({
          family: r.getAttribute("data-family"),
          amount: r.getAttribute("data-amount"),
          width: r.getBoundingClientRect().width,
        })),
      );
      expect(families.map((f) => [f.family, f.amount])).toEqual([
        ["moments", "101.00"],
        ["sms", "0.17"],
        ["messenger", "0.10"],
      ]);
      // Drawn: each bar has a width, the largest the widest.
      for (const f of families) expect(f.width).toBeGreaterThan(0);
      expect(families[0]?.width).toBeGreaterThan(families[1]?.width ?? Number.POSITIVE_INFINITY);

      const adjustments = tab.locator("#adjustments-table tbody tr");
      expect(await adjustments.count()).toBe(3);
      expect(await tab.locator("#adjustments-table").textContent()).toContain("2025-07");
      expect(await tab.locator("#suspense").textContent()).toContain("Nothing in suspense");

      for (const [id, file] of [
        ["#link-csv", "invoice-lines-2025-08.csv"],
        ["#link-json", "invoice-lines-2025-08.json"],
        ["#link-close-report", "close-report-2025-08.json"],
      ] as const) {
        expect(await tab.locator(id).getAttribute("href")).toBe(file);
        expect(statSync(join(out, file)).size).toBeGreaterThan(0);
      }

      const shots = join(root, "out", "test-report-page");
      mkdirSync(shots, { recursive: true });
      const shot = join(shots, "report-2025-08.png");
      await tab.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });

  it("finance API (first cut): payload 2.0 events to the handler and requests to its local HTTP server", async () => {
    const handler = createFinanceApi({
      periods: system.store,
      usage: system.store.usage,
      config: () => system.store.loadConfig(),
    });
    const get = (url: string, method = "GET") =>
      handler(httpApiEvent({ method, url, headers: { host: "api" } }));

    const csv = await get("/periods/2025-08/invoice-lines?format=csv");
    expect(csv.statusCode).toBe(200);
    expect(csv.headers?.["content-type"]).toMatch(/^text\/csv/);
    const csvLines = String(csv.body).trim().split("\n");
    expect(csvLines).toHaveLength(6);
    expect(csvLines.filter((l) => l.includes(",adjustment,"))).toHaveLength(3);

    // JSON in pages: 2 + 2 + 1 lines, the cursor carrying on where the last page ended.
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await get(
        `/periods/2025-08/invoice-lines?format=json&accountId=lateco&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(r.statusCode).toBe(200);
      const body = JSON.parse(String(r.body)) as { lines: { line_id: string }[]; nextCursor?: string };
      seen.push(...body.lines.map((l) => l.line_id));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(5);

    const report = await get("/periods/2025-08/close-report?accountId=lateco");
    expect(JSON.parse(String(report.body)).reports[0].totals.amount).toBe("101.27");

    const problems = [
      ["/periods/2025-13/invoice-lines", 400],
      ["/periods/2025-08/invoice-lines?format=xml", 400],
      ["/periods/2025-08/invoice-lines?cursor=nope", 400],
      ["/periods/2025-08/invoice-lines?accountId=nobody", 404],
      ["/periods/2024-01/invoice-lines", 404],
      ["/elsewhere", 404],
    ] as const;
    for (const [url, status] of problems) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(status);
      expect(r.headers?.["content-type"]).toBe("application/problem+json");
      expect(JSON.parse(String(r.body))).toMatchObject({ status, instance: url.split("?")[0] });
    }
    expect((await get("/periods/2025-08/invoice-lines", "POST")).statusCode).toBe(405);

    // The same handler behind a real HTTP server on loopback.
    const server = await startFinanceApiServer(handler);
    try {
      const r = await fetch(`${server.url}/periods/2025-08/invoice-lines?format=csv`);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(csv.body);
      const page = await fetch(`${server.url}/periods/2025-08/report.html`);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await page.text()).toContain('href="invoice-lines?format=csv"');
      const bad = await fetch(`${server.url}/periods/07-2025/close-report`);
      expect(bad.status).toBe(400);
      expect(bad.headers.get("content-type")).toBe("application/problem+json");
    } finally {
      await server.stop();
    }
  });
});

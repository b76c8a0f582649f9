/**
 * The finance page of a period (issue 10 item 4) checked in a real browser: examples/late-events
 * (July closed, late July events, August closed with adjustments) on the local stack, the page read
 * from storage by key (no scan), written by `billing report`, then loaded in Debian's headless
 * Chromium through playwright-core: its DOM is asserted and a screenshot saved under out/ (gitignored).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigFiles } from "../../cli/simulate.js";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { httpApiEvent, startFinanceApiServer } from "../../local/finance-api-server.js";
import { createFinanceApi } from "../../shared/app/finance-api.js";
import { periodReportHtml } from "../../shared/app/period-report.js";
import { type Clock, systemClock, VirtualClock } from "../../shared/ports/clock.js";
import { localSystemEnv } from "../support/cli.js";
import { runLateEventsExample } from "../support/late-events-example.js";

const fixedClock = (at: string): Clock => ({ now: () => Date.parse(at) });

const root = resolve(import.meta.dirname, "..", "..");
const run = promisify(execFile);

/** Debian's headless Chromium with a fresh profile of its own under `dir`. */
async function launchChromium(dir: string) {
  const profile = join(dir, `chromium-profile-${Math.random().toString(36).slice(2)}`);
  mkdirSync(profile);
  return chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 900 },
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
}

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
    const browser = await launchChromium(dir);
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
      expect(cells).toEqual(["EUR", "We invoice", "1", "5", "101.27", "100.31", "+0.96", "+1.0 %"]);

      const accounts = tab.locator("#accounts-list details.account");
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

/**
 * The page finance works from (issue 24): four accounts on both channels — examples/azure-marketplace
 * (acme direct, contoso on the Azure Marketplace), quiet-co closed with no usage, open-co with
 * August usage and no August close — July closed (June never was), late July usage and a conflict
 * billed in August.
 */
describe("the finance page a finance team works from", () => {
  let system: LocalBillingSystem;
  const dir = mkdtempSync(join(tmpdir(), "billing-report24-"));
  const clock = new VirtualClock(Date.parse("2025-07-02T09:00:00Z"));
  const example = join(root, "examples", "azure-marketplace");
  const bodies = (file: string) =>
    readFileSync(join(example, file), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
  let seq = 0;
  const sms = (subject: string, time: string, country: string, id = `x-${++seq}`) =>
    JSON.stringify({
      specversion: "1.0",
      id,
      source: "/example/gateway",
      type: "sms.mt",
      subject,
      time,
      data: {
        to: `${country === "TR" ? "90532" : "49151"}${String(seq).padStart(7, "0")}`,
        country,
        status: "submitted",
      },
    });

  beforeAll(async () => {
    system = await startLocalBillingSystem({ clock });
    const config = await loadConfigFiles(join(example, "accounts.json"), join(example, "tariffs.json"));
    const direct = config.accounts.find((a) => a.accountId === "acme")!;
    await system.loadConfig({
      ...config,
      accounts: [
        ...config.accounts,
        { ...direct, accountId: "quiet-co", name: "Quiet" },
        { ...direct, accountId: "open-co", name: "Open" },
      ],
    });
    // July: the example's events, and a re-delivery of a-01 with other content (a conflict).
    await system.send([...bodies("events.jsonl"), ...bodies("late-events.jsonl")]);
    const a01 = JSON.parse(bodies("events.jsonl").find((b) => b.includes('"a-01"'))!) as {
      data: Record<string, unknown>;
    };
    await system.send([JSON.stringify({ ...a01, data: { ...a01.data, to: "905329999999" } })]);
    clock.advanceTo(Date.parse("2025-07-02T16:00:00Z"));
    await system.drain();
    clock.advanceTo(Date.parse("2025-08-01T03:00:00Z"));
    await system.close("2025-07");
    // August: new usage, a late July event of acme (an adjustment of July), a conflict in August.
    clock.advanceTo(Date.parse("2025-08-05T12:00:00Z"));
    await system.send([
      sms("acme", "2025-08-04T10:00:00Z", "TR", "acme-aug-1"),
      sms("acme", "2025-08-04T11:00:00Z", "TR"),
      sms("acme", "2025-08-04T12:00:00Z", "TR"),
      sms("acme", "2025-08-04T13:00:00Z", "DE"),
      sms("acme", "2025-07-30T09:00:00Z", "DE"),
      sms("contoso", "2025-08-04T10:00:00Z", "TR"),
      sms("contoso", "2025-08-04T10:10:00Z", "TR"),
      sms("contoso", "2025-08-04T10:20:00Z", "TR"),
      sms("contoso", "2025-08-04T10:30:00Z", "TR"),
      sms("open-co", "2025-08-04T10:00:00Z", "TR"),
      sms("open-co", "2025-08-04T10:05:00Z", "DE"),
    ]);
    await system.drain();
    await system.send([sms("acme", "2025-08-04T10:00:00Z", "DE", "acme-aug-1")]);
    await system.drain();
    clock.advanceTo(Date.parse("2025-09-01T03:00:00Z"));
    await system.close("2025-08", ["acme", "contoso", "quiet-co"]);
  }, 300_000);
  afterAll(async () => {
    await system?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const report = async (period: string) => {
    const out = join(dir, period);
    const r = await run(
      "node",
      [join(root, "bin", "billing.js"), "report", "--period", period, "--out", out],
      {
        cwd: root,
        env: localSystemEnv(system),
      },
    );
    expect(r.stdout).toContain(`report ${period}:`);
    return join(out, `report-${period}.html`);
  };

  it("counts and lists every closed account, splits who invoices what, shows previous figures only where closed", async () => {
    const july = await report("2025-07");
    const august = await report("2025-08");
    const browser = await launchChromium(dir);
    try {
      const tab = await browser.newPage();

      // July: four accounts closed (two without lines), June never closed.
      await tab.goto(pathToFileURL(july).href, { waitUntil: "load" });
      expect(await tab.locator("#summary").getAttribute("data-closed")).toBe("4");
      expect(await tab.locator("#summary").textContent()).toContain("4 accounts closed");
      expect(await tab.locator("#summary").textContent()).toContain("previous period 2025-06: not closed");
      expect(await tab.locator("#accounts-list details.account").count()).toBe(4);
      expect(await tab.locator("#totals").textContent()).toContain("not closed");
      expect(await tab.locator("#totals").textContent()).not.toMatch(/0\.00\s*\+/);
      const julyNoLines = await tab
        .locator("#accounts-list details.account[data-lines='0']")
        .evaluateAll((ds) => ds.map((d) => d.getAttribute("data-account")));
      expect(julyNoLines.sort()).toEqual(["open-co", "quiet-co"]);

      // August.
      await tab.goto(pathToFileURL(august).href, { waitUntil: "load" });
      expect(await tab.locator("#summary").getAttribute("data-closed")).toBe("3");
      expect(await tab.locator("#summary").textContent()).toContain("previous period 2025-07: closed");
      // Who invoices what, per currency, never added together.
      const card = tab.locator("#invoicing .card[data-currency='EUR']");
      expect(await card.locator("dd.we").getAttribute("data-amount")).toBe("0.14");
      expect(await card.locator("dd.ms").getAttribute("data-amount")).toBe("0.05");
      const totals = await tab
        .locator("#totals tbody tr")
        .evaluateAll((rows) =>
          rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent?.trim() ?? "")),
        );
      expect(totals.map((r) => r.slice(0, 5))).toEqual([
        ["EUR", "We invoice", "2", "3", "0.14"],
        ["EUR", "Microsoft invoices", "1", "1", "0.05"],
      ]);
      // Every closed account, the one without lines with its reason; each opens on its lines.
      const accounts = tab.locator("#accounts-list details.account");
      expect(await accounts.evaluateAll((ds) => ds.map((d) => d.getAttribute("data-account")))).toEqual([
        "acme",
        "contoso",
        "quiet-co",
      ]);
      const quiet = tab.locator("details.account[data-account='quiet-co']");
      expect(await quiet.locator("summary").textContent()).toContain(
        "no line: no usage in the period and no fee in the tariff",
      );
      const acme = tab.locator("details.account[data-account='acme']");
      expect(await acme.locator("table").isVisible()).toBe(false);
      await acme.locator("summary").click();
      expect(await acme.locator("table").isVisible()).toBe(true);
      const acmeLines = await acme
        .locator("tbody tr")
        .evaluateAll((rows) =>
          rows.map((r) => [
            r.children[0]?.textContent,
            r.children[7]?.textContent,
            r.children[8]?.textContent,
          ]),
        );
      expect(acmeLines).toEqual([
        ["adjustment", "0.05", "2025-07"],
        ["usage", "0.05", "2025-08"],
        ["usage", "0.04", "2025-08"],
      ]);
      // Adjustments and conflicts with their reference periods.
      const adjustments = await tab
        .locator("#adjustments-table tbody tr")
        .evaluateAll((rows) => rows.map((r) => [r.children[0]?.textContent, r.children[1]?.textContent]));
      expect(adjustments).toEqual([["acme", "2025-07"]]);
      const conflicts = await tab
        .locator("#conflicts-table tbody tr")
        .evaluateAll((rows) =>
          rows.map((r) => [
            r.children[0]?.textContent,
            r.children[1]?.textContent,
            r.children[3]?.textContent,
          ]),
        );
      expect(conflicts).toEqual([["acme", "2025-08", "acme-aug-1"]]);
      // Usage and no close: open-co.
      expect(
        await tab
          .locator("#unclosed-table tbody tr")
          .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-account"))),
      ).toEqual(["open-co"]);
      // Full width: the main column uses the window, not 70 % of it.
      const widths = {
        main: (await tab.locator("main").boundingBox())?.width ?? 0,
        window: tab.viewportSize()?.width ?? 0,
      };
      expect(widths.main).toBeGreaterThan(widths.window * 0.95);

      const shots = join(root, "out", "test-report-page");
      mkdirSync(shots, { recursive: true });
      await tab.screenshot({ path: join(shots, "report-2025-08-finance.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 300_000);
});

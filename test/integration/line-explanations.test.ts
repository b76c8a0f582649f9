/**
 * Every invoice line explains itself (issue 10 item 3), through the real ingest and close on
 * the local stack (DynamoDB Local, the SQS server, the event-source poller): a counted usage line
 * (SMS, samples kept by the monthly counters), a package overage (Moments), a window-based line
 * (a WhatsApp conversation), a per-call line (voice minutes) and an adjustment (a late SMS after the
 * close); then the same explanations by `billing explain` and by the finance API route.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { httpApiEvent } from "../../local/finance-api-server.js";
import { createFinanceApi } from "../../shared/app/finance-api.js";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import { parseAccounts, parseTariffs } from "../../shared/core/config.js";
import type { LineExplanation } from "../../shared/core/rating/explain/explain.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { billing } from "../support/cli.js";

const tariffs = parseTariffs([
  {
    tariffId: "std",
    currency: "EUR",
    versions: [
      {
        publishedAt: "2025-01-01T00:00:00Z",
        effectiveFrom: "2025-02-01T00:00:00Z",
        rates: [
          { product: "sms.mt", match: { country: "TR" }, unitPrice: "0.05" },
          { product: "whatsapp.conversation", match: { category: "marketing" }, unitPrice: "0.07" },
          {
            product: "voice.minute",
            tiers: {
              mode: "graduated",
              steps: [
                { upTo: 2, unitPrice: "0.10" },
                { upTo: null, unitPrice: "0.08" },
              ],
            },
          },
        ],
        packages: [
          { product: "moments.engaged_people", includedQuantity: 1, fee: "20.00", overageUnitPrice: "0.50" },
        ],
      },
    ],
  },
]);
const accounts = parseAccounts(
  [{ accountId: "acme", name: "Acme", currency: "EUR", tariffId: "std" }],
  tariffs,
);

const event = (source: string, id: string, type: string, time: string, data: Record<string, unknown>) =>
  JSON.stringify({ specversion: "1.0", id, source, type, subject: "acme", time, data });
const sms = (id: string, time: string) =>
  event("/sms/eu-1", id, "sms.mt", time, { to: "+905550000000", country: "TR", status: "submitted" });

describe("invoice line explanations through ingest and close", () => {
  let system: LocalBillingSystem;
  const clock = new VirtualClock(Date.parse("2025-06-01T00:00:00Z"));
  let lines: InvoiceLine[] = [];
  const lineOf = (lineType: string, product: string, period = "2025-06") => {
    const l = lines.find((x) => x.line_type === lineType && x.product === product && x.period === period);
    if (!l) throw new Error(`no ${lineType} ${product} line in ${period}: ${JSON.stringify(lines)}`);
    return l;
  };
  const explain = async (l: InvoiceLine): Promise<LineExplanation> => {
    const x = await system.store.explanation(l.line_id);
    if (!x) throw new Error(`no explanation for ${l.line_id}`);
    return x;
  };

  beforeAll(async () => {
    system = await startLocalBillingSystem({ clock });
    await system.loadConfig({ accounts, tariffs });
    clock.advanceTo(Date.parse("2025-06-20T00:00:00Z"));
    await system.send([
      ...Array.from({ length: 30 }, (_, i) =>
        sms(`s-${String(i).padStart(2, "0")}`, `2025-06-10T10:${String(i).padStart(2, "0")}:00Z`),
      ),
      // Three people enter flows (one twice): 3 engaged, 1 included, 2 overage.
      ...["u1", "u2", "u3", "u1"].map((u, i) =>
        event("/moments", `m-${i}`, "moments.flow_entered", `2025-06-11T09:0${i}:00Z`, {
          endUserId: u,
          flowId: "f1",
        }),
      ),
      // A marketing template opens a conversation; the second, 2 h later, is inside it.
      ...["12:00", "14:00"].map((t, i) =>
        event("/wa", `w-${i}`, "whatsapp.message", `2025-06-12T${t}:00Z`, {
          endUserId: "u9",
          senderId: "snd-1",
          kind: "template",
          category: "marketing",
          delivered: true,
        }),
      ),
      // 125 s answered: ⌈125 / 60⌉ = 3 minutes, 2 at 0.10 and 1 at 0.08 (graduated).
      event("/voice", "c-1", "voice.call", "2025-06-13T08:00:00Z", {
        callId: "c-1",
        service: "calls",
        direction: "outbound",
        country: "TR",
        answered: true,
        durationSeconds: 125,
      }),
    ]);
    expect(await system.drain()).toMatchObject({ stored: 37, failed: 0 });
    clock.advanceTo(Date.parse("2025-07-01T13:00:00Z"));
    await system.close("2025-06", ["acme"]);
    // A late June SMS after June's close: July's close bills it as an adjustment of June (G7).
    clock.advanceTo(Date.parse("2025-07-05T00:00:00Z"));
    await system.send([sms("late-1", "2025-06-30T23:00:00Z")]);
    expect(await system.drain()).toMatchObject({ stored: 1, failed: 0 });
    clock.advanceTo(Date.parse("2025-08-01T13:00:00Z"));
    await system.close("2025-07", ["acme"]);
    lines = await system.store.linesForReference("acme", "2025-06");
  });
  afterAll(async () => {
    await system?.stop();
  });

  it("§3, G5: a counted usage line names its rule, rate, event count and samples kept by the counters", async () => {
    const line = lineOf("usage", "sms.mt");
    const x = await explain(line);
    expect(x).toMatchObject({
      lineId: line.line_id,
      accountId: "acme",
      period: "2025-06",
      quantity: "30",
      rule: { section: "§3 SMS/MMS", product: "sms.mt" },
      tariff: {
        tariffId: "std",
        version: { effectiveFrom: "2025-02-01T00:00:00Z", publishedAt: "2025-01-01T00:00:00Z" },
        entry: { kind: "rate", match: { country: "TR" }, unitPrice: "0.05" },
      },
      derivation: { events: 30, chargedQuantity: "30" },
    });
    // The counters keep the first and latest event of each counter item: real identities of this line.
    expect(x.samples.length).toBeGreaterThanOrEqual(1);
    expect(x.samples.length).toBeLessThanOrEqual(20);
    for (const s of x.samples) {
      expect(s.source).toBe("/sms/eu-1");
      expect(s.id).toMatch(/^s-\d\d$/);
    }
  });

  it("§2: a package overage explains the package and the distinct people counted", async () => {
    const x = await explain(lineOf("package_overage", "moments.engaged_people"));
    expect(x.tariff.entry).toEqual({
      kind: "package",
      product: "moments.engaged_people",
      includedQuantity: 1,
      fee: "20.00",
      overageUnitPrice: "0.50",
    });
    expect(x.quantity).toBe("2");
    expect(x.derivation.summary).toBe("3 person used (1 charges) − 1 included = 2 above the package");
    expect(x.rule.lineType).toMatch(/^§2 package: the period's quantity above the included/);
    expect(x.samples.map((s) => s.id)).toEqual(["m-0", "m-1", "m-2", "m-3"]);
    expect(x.derivation.figures).toEqual(["distinct engaged people 2025-06"]);
  });

  it("§3.3, G12: a conversation line names the message that opened the window, not the one inside it", async () => {
    const x = await explain(lineOf("usage", "whatsapp.conversation"));
    expect(x.quantity).toBe("1");
    expect(x.rule.section).toBe("§3.3 WhatsApp (before 2025-07-01)");
    expect(x.samples).toEqual([
      {
        source: "/wa",
        id: "w-0",
        time: "2025-06-12T12:00:00Z",
        quantity: "1",
        detail: "opened a marketing conversation [2025-06-12T12:00:00Z, +24 h)",
      },
    ]);
  });

  it("§5, contract §3: a graduated voice line shows the tiers and the seconds rounded up to minutes", async () => {
    const step = lines.find((l) => l.product === "voice.minute" && l.unit_price === "0.1");
    expect(step).toBeDefined();
    const x = await explain(step as InvoiceLine);
    expect(x.tariff.entry).toMatchObject({ kind: "rate", tiers: { mode: "graduated" } });
    expect(x.samples).toEqual([
      expect.objectContaining({ id: "c-1", quantity: "3", detail: "duration 125 s → ⌈125 / 60⌉ = 3 min" }),
    ]);
    expect(x.derivation.summary).toContain("graduated tiers");
  });

  it("G7: an adjustment names the late event and the line it corrects", async () => {
    const adjustment = lineOf("adjustment", "sms.mt", "2025-07");
    const x = await explain(adjustment);
    expect(x.adjustment).toMatchObject({
      referencePeriod: "2025-06",
      corrects: [lineOf("usage", "sms.mt").line_id],
      correctsCount: 1,
      before: { quantity: "30", amount: "1.5" },
      after: { quantity: "31", amount: "1.55" },
    });
    expect(x.adjustment?.lateEvents.map((s) => s.id)).toEqual(["late-1"]);
  });

  it("every line of both closes has its explanation, keyed by its line id", async () => {
    for (const l of lines) expect((await explain(l)).lineId).toBe(l.line_id);
    expect(await system.store.explanation("L-00000000000000000000")).toBeUndefined();
  });

  it("`billing explain LINE_ID` prints it (text and --json); an unknown id fails, a malformed one is a usage error", async () => {
    const env = {
      ...process.env,
      BILLING_TABLE: system.tableName,
      AWS_REGION: "us-east-1",
      DYNAMODB_ENDPOINT: system.endpoints.dynamodb,
      SQS_ENDPOINT: system.endpoints.sqs,
    };
    const cli = (...args: string[]) => billing(["explain", ...args], env);
    const line = lineOf("adjustment", "sms.mt", "2025-07");
    const text = await cli(line.line_id);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`${line.line_id}  acme  period 2025-07  reference 2025-06`);
    expect(text.stdout).toMatch(/^Rule {3}§3 SMS\/MMS: SMS MT accepted/m);
    expect(text.stdout).toMatch(/^ {2}2025-06-30T23:00:00Z {2}\/sms\/eu-1 {2}late-1$/m);
    const json = await cli(line.line_id, "--json");
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(await explain(line));
    const unknown = await cli("L-00000000000000000000");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no invoice line L-00000000000000000000/);
    expect((await cli("not-a-line")).code).toBe(2);
  }, 120_000); // three fresh Node processes on a loaded machine: not a budget

  it("GET /invoice-lines/{lineId}/explanation: 200 with the object, 400 malformed, 404 unknown (problem+json)", async () => {
    const handler = createFinanceApi({
      periods: system.store,
      usage: system.store.usage,
      config: () => system.store.loadConfig(),
      explanations: system.store,
    });
    const get = (url: string, method = "GET") =>
      handler(httpApiEvent({ method, url, headers: { host: "api" } }));
    const line = lineOf("package_overage", "moments.engaged_people");
    const ok = await get(`/invoice-lines/${line.line_id}/explanation`);
    expect(ok.statusCode).toBe(200);
    expect(ok.headers?.["content-type"]).toBe("application/json");
    expect(JSON.parse(String(ok.body))).toEqual(await explain(line));
    for (const [url, status] of [
      ["/invoice-lines/L-zz/explanation", 400],
      ["/invoice-lines/%E0%A4%A/explanation", 400],
      ["/invoice-lines/L-00000000000000000000/explanation", 404],
    ] as const) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(status);
      expect(r.headers?.["content-type"]).toBe("application/problem+json");
      expect(JSON.parse(String(r.body))).toMatchObject({ status, instance: url });
    }
    expect((await get(`/invoice-lines/${line.line_id}/explanation`, "POST")).statusCode).toBe(405);
  });
});

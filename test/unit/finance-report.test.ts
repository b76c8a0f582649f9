/** The finance page of a period (issue 10 item 4): exact sums, change, families, escaping. */
import { describe, expect, it } from "vitest";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import {
  emptyCloseSummary,
  groupDigits,
  noLineReason,
  type ReportCloseSummary,
  renderPeriodReport,
  summarizePeriod,
} from "../../shared/core/finance-report.js";

let n = 0;
const line = (over: Partial<InvoiceLine>): InvoiceLine => ({
  account_id: "acme",
  period: "2025-08",
  line_id: `l${++n}`,
  line_type: "usage",
  product: "sms.mt",
  dimensions: "",
  description: "",
  quantity: "1",
  unit: "message",
  unit_price: "0.1",
  amount: "0.10",
  currency: "EUR",
  billing_channel: "direct",
  reference_period: over.period ?? "2025-08",
  tariff_version: "v1",
  ...over,
});

const report = (over: Partial<ReportCloseSummary>): ReportCloseSummary => ({
  ...emptyCloseSummary({ accountId: "acme", period: "2025-08", billingChannel: "direct", currency: "EUR" }),
  ...over,
});

const links = { csv: "invoice-lines.csv", json: "invoice-lines.json" };

describe("finance page of a period", () => {
  const lines = [
    line({ amount: "0.10" }),
    line({ amount: "0.20" }),
    line({ product: "voice.minute", amount: "12.35" }),
    line({ account_id: "beta", amount: "1000.01", product: "whatsapp.template" }),
    line({ account_id: "azco", billing_channel: "azure-marketplace", currency: "USD", amount: "7.00" }),
    line({ line_type: "adjustment", reference_period: "2025-07", amount: "-0.05", description: "late" }),
  ];
  const previousLines = [
    line({ period: "2025-07", amount: "10.00" }),
    line({ period: "2025-07", account_id: "beta", amount: "990.00" }),
    line({ period: "2025-07", currency: "GBP", account_id: "gone", amount: "5.00" }),
  ];
  const input = {
    period: "2025-08",
    previousPeriod: "2025-07",
    lines,
    previousLines,
    previousClosed: ["acme", "beta", "gone"],
    reports: [
      report({
        suspense: { count: 1, samples: [{ product: "sms.mt", reason: "no rate", quantity: "3", events: 3 }] },
        conflicts: { count: 25, samples: [{ source: "/gw", id: "e1", seenAt: "2025-08-02T00:00:00.000Z" }] },
      }),
      report({ accountId: "beta" }),
      report({ accountId: "azco", billingChannel: "azure-marketplace", currency: "USD" }),
      // Closed, nothing billed: counted and listed with its reason.
      report({ accountId: "quiet", events: 0 }),
    ],
    unclosed: [{ accountId: "late-co", billingChannel: "direct", currency: "EUR" }],
    links,
  };

  it("sums exactly by currency and channel, with the change against the previous period", () => {
    const s = summarizePeriod(input);
    expect(s.totals).toEqual([
      {
        currency: "EUR",
        billingChannel: "direct",
        accounts: 3,
        lines: 5,
        amount: "1012.61",
        previous: "1000.00",
        change: "12.61",
        changePercent: "1.3",
      },
      // A currency billed only in the previous period still shows its drop.
      {
        currency: "GBP",
        billingChannel: "direct",
        accounts: 0,
        lines: 0,
        amount: "0.00",
        previous: "5.00",
        change: "-5.00",
        changePercent: "-100.0",
      },
      // No USD Marketplace account was closed for July: no "previous" figure, not a 0.00.
      { currency: "USD", billingChannel: "azure-marketplace", accounts: 1, lines: 1, amount: "7.00" },
    ]);
    // What we invoice and what Microsoft invoices, per currency, never added together.
    expect(s.invoicing).toEqual([
      { currency: "EUR", weInvoice: "1012.61", microsoftInvoices: "0.00" },
      { currency: "GBP", weInvoice: "0.00", microsoftInvoices: "0.00" },
      { currency: "USD", weInvoice: "0.00", microsoftInvoices: "7.00" },
    ]);
    expect(s.closedAccounts).toBe(4);
    expect(s.unclosed.map((u) => u.accountId)).toEqual(["late-co"]);
  });

  it("lists every closed account with its lines, the ones without lines with their reason", () => {
    const s = summarizePeriod(input);
    expect(
      s.accounts.map((a) => [a.accountId, a.amount, a.previous, a.lines.length, a.noLineReason]),
    ).toEqual([
      ["beta", "1000.01", "990.00", 1, undefined],
      ["acme", "12.60", "10.00", 4, undefined],
      ["quiet", "0.00", undefined, 0, "no line: no usage in the period and no fee in the tariff"],
      ["azco", "7.00", undefined, 1, undefined],
    ]);
    // Largest line first within an account.
    expect(s.accounts[1]?.lines.map((l) => l.amount)).toEqual(["12.35", "0.20", "0.10", "-0.05"]);
    const html = renderPeriodReport(input);
    expect(html).toContain("4 accounts closed");
    expect(html.match(/<details class="account"/g)).toHaveLength(4);
    expect(html).toContain("not closed");
  });

  it("says why a closed account has no line", () => {
    expect(noLineReason(report({ events: 3 }))).toBe(
      "no line: 3 events rated, none charged (priced at zero or included)",
    );
    expect(noLineReason(report({ suspense: { count: 2, samples: [] } }))).toMatch(
      /^no line: usage held in suspense \(2 items/,
    );
    expect(noLineReason(report({ rejectedMessages: { count: 4, samples: [] } }))).toMatch(
      /^no line: no usage counted; 4 messages rejected/,
    );
  });

  it("shows no previous figure at all when the previous period was never closed", () => {
    const s = summarizePeriod({ ...input, previousLines: [], previousClosed: [] });
    expect(s.previousClosed).toBe(false);
    expect(s.totals.every((t) => t.previous === undefined && t.change === undefined)).toBe(true);
    const html = renderPeriodReport({ ...input, previousLines: [], previousClosed: [] });
    expect(html).toContain("previous period 2025-07: not closed");
    expect(html).not.toMatch(/>0\.00<\/td><td class="num[^"]*">\+/);
  });

  it("sums product families per currency and invoicer", () => {
    const s = summarizePeriod(input);
    expect(s.families.map((f) => [f.currency, f.billingChannel, f.family, f.amount, f.lines])).toEqual([
      ["EUR", "direct", "whatsapp", "1000.01", 1],
      ["EUR", "direct", "voice", "12.35", 1],
      ["EUR", "direct", "sms", "0.25", 3],
      ["USD", "azure-marketplace", "sms", "7.00", 1],
    ]);
    expect(s.adjustments.map((l) => l.amount)).toEqual(["-0.05"]);
    expect(s.suspense).toEqual([
      {
        accountId: "acme",
        referencePeriod: "2025-08",
        product: "sms.mt",
        reason: "no rate",
        quantity: "3",
        events: 3,
      },
    ]);
    expect(s.conflicts).toHaveLength(1);
    // A list longer than its samples: the page says how many there are and where the rest is.
    expect(s.counts).toEqual({ suspense: 1, conflicts: 25, rejectedMessages: 0 });
    expect(renderPeriodReport(input)).toContain("1 shown of 25; every entry is in close-report-lists.jsonl.");
  });

  it("lists late conflicts (G5) under the period of their first copy, counted with the others", () => {
    const late = {
      ...input,
      reports: [
        report({
          accountId: "beta",
          lateConflicts: {
            count: 2,
            samples: [
              { referencePeriod: "2025-06", source: "/gw", id: "old-1", seenAt: "2025-08-03T00:00:00.000Z" },
            ],
          },
        }),
      ],
    };
    const s = summarizePeriod(late);
    expect(s.conflicts).toEqual([
      {
        accountId: "beta",
        referencePeriod: "2025-06",
        source: "/gw",
        id: "old-1",
        seenAt: "2025-08-03T00:00:00.000Z",
      },
    ]);
    expect(s.counts.conflicts).toBe(2);
    expect(renderPeriodReport(late)).toContain("old-1");
  });

  it("renders one self-contained page: no script, no external asset, every text escaped, same bytes each time", () => {
    const hostile = {
      ...input,
      lines: [...lines, line({ account_id: `<script>alert("x")</script>`, amount: "1.00" })],
      links: { csv: `a".csv`, json: "b.json" },
    };
    const html = renderPeriodReport(hostile);
    expect(html).toBe(renderPeriodReport(hostile));
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<link\b/);
    expect(html).toContain(`href="a&quot;.csv"`);
    expect(html).toContain("1,000.01");
    expect(html).toMatch(/<svg class="chart"[^>]*data-currency="EUR"/);
    expect(html.match(/<rect class="bar[^"]*"/g)).toHaveLength(4);
  });

  it("says so when nothing was billed", () => {
    const html = renderPeriodReport({ ...input, lines: [], previousLines: [], reports: [], unclosed: [] });
    expect(html).toContain("No invoice lines in this period or the previous one.");
    expect(html).not.toContain("<rect");
  });

  it("groups digits without changing them", () => {
    expect(groupDigits("1234567.891")).toBe("1,234,567.891");
    expect(groupDigits("-1000")).toBe("-1,000");
    expect(groupDigits("999.00")).toBe("999.00");
  });
});

/**
 * The page finance opens for a period (issue 10 item 4): one self-contained HTML document (inline
 * CSS, inline SVG chart, no external asset, no script) built from the period's invoice lines, the
 * previous period's and the period's close reports. Pure and deterministic: the same input gives the
 * same bytes, so `billing report`, `billing simulate` and the finance API serve one page.
 *
 * Money is summed exactly (decimal.js) from the lines' amounts, which are already rounded once each
 * (G4): no further rounding. Only the chart's bar lengths and the change in percent are display
 * approximations.
 */
import type { Decimal } from "decimal.js";
import type { InvoiceLine } from "../contract/invoice-line.js";
import { compareStrings } from "./compare.js";
import { compositeKey, keyParts } from "./keys.js";
import { dec, formatMoney, ZERO } from "./money.js";

/** What the page reads of a close report (shared/app/close-period.ts AccountCloseReport has it all). */
export interface ReportCloseSummary {
  readonly accountId: string;
  readonly period: string;
  readonly billingChannel: string;
  readonly currency: string;
  readonly totals: { readonly amount: string };
  readonly adjustments: readonly { referencePeriod: string; amount: string; lines: number }[];
  readonly suspense: Listed<SuspenseRow>;
  readonly suspenseCarried: readonly { referencePeriod: string; items: Listed<SuspenseRow> }[];
  readonly conflicts: Listed<{ source: string; id: string; seenAt: string }>;
  readonly rejectedMessages: Listed<{ messageId: string; reason: string }>;
}

/** A close report's list: its length and up to 20 samples (the whole list is in close-report-lists.jsonl, D16). */
export interface Listed<T> {
  readonly count: number;
  readonly samples: readonly T[];
}

interface SuspenseRow {
  readonly product: string;
  readonly reason: string;
  readonly quantity: string;
  readonly events: number;
}

export interface PeriodReportInput {
  readonly period: string;
  /** The lines billed in the period (`period` = the period; adjustments of earlier ones included). */
  readonly lines: readonly InvoiceLine[];
  /** The lines billed in the previous period, for the change. */
  readonly previousLines: readonly InvoiceLine[];
  readonly previousPeriod: string;
  /** The close reports of the period, one per account closed. */
  readonly reports: readonly ReportCloseSummary[];
  /** Where the period's exports are, relative to the page or absolute. */
  readonly links: { readonly csv: string; readonly json: string; readonly closeReport?: string };
  /** How many accounts the "largest accounts" table shows per currency (default 10). */
  readonly largestAccounts?: number;
}

export interface TotalRow {
  readonly currency: string;
  readonly billingChannel: string;
  readonly accounts: number;
  readonly lines: number;
  readonly amount: string;
  readonly previous: string;
  readonly change: string;
  /** Change in percent of the previous amount, one decimal; undefined when the previous was zero. */
  readonly changePercent?: string;
}

export interface AccountRow {
  readonly accountId: string;
  readonly billingChannel: string;
  readonly currency: string;
  readonly lines: number;
  readonly amount: string;
  readonly previous: string;
  readonly change: string;
}

export interface FamilyRow {
  readonly currency: string;
  /** The product code's first part: `sms` of `sms.mt`, `voice` of `voice.minute`. */
  readonly family: string;
  readonly amount: string;
  readonly lines: number;
}

export interface PeriodSummary {
  readonly period: string;
  readonly previousPeriod: string;
  readonly totals: readonly TotalRow[];
  readonly largestAccounts: readonly AccountRow[];
  readonly families: readonly FamilyRow[];
  readonly adjustments: readonly InvoiceLine[];
  readonly suspense: readonly (SuspenseRow & { accountId: string; referencePeriod: string })[];
  readonly conflicts: readonly { accountId: string; source: string; id: string; seenAt: string }[];
  readonly rejectedMessages: readonly { accountId: string; messageId: string; reason: string }[];
  /** Entries of each list over all reports; the tables above show the reports' samples. */
  readonly counts: {
    readonly suspense: number;
    readonly conflicts: number;
    readonly rejectedMessages: number;
  };
}

export const productFamily = (product: string): string => product.split(".")[0] || product;

/** Sums of amounts and line counts under a key. */
class Sums {
  private readonly m = new Map<string, { amount: Decimal; lines: number }>();
  add(key: string, amount: string): void {
    const s = this.m.get(key) ?? { amount: ZERO, lines: 0 };
    this.m.set(key, { amount: s.amount.plus(dec(amount)), lines: s.lines + 1 });
  }
  get(key: string): { amount: Decimal; lines: number } {
    return this.m.get(key) ?? { amount: ZERO, lines: 0 };
  }
  keys(): string[] {
    return [...this.m.keys()];
  }
}

export function summarizePeriod(input: PeriodReportInput): PeriodSummary {
  const money = (d: Decimal, currency: string) => formatMoney(d, currency);
  const totals = new Sums();
  const previousTotals = new Sums();
  const accounts = new Sums();
  const previousAccounts = new Sums();
  const families = new Sums();
  const accountsOf = new Map<string, Set<string>>();
  const channelOf = new Map<string, string>();
  for (const l of input.lines) {
    const key = compositeKey(l.currency, l.billing_channel);
    totals.add(key, l.amount);
    accounts.add(compositeKey(l.currency, l.account_id), l.amount);
    families.add(compositeKey(l.currency, productFamily(l.product)), l.amount);
    channelOf.set(l.account_id, l.billing_channel);
    const set = accountsOf.get(key) ?? new Set<string>();
    set.add(l.account_id);
    accountsOf.set(key, set);
  }
  for (const l of input.previousLines) {
    previousTotals.add(compositeKey(l.currency, l.billing_channel), l.amount);
    previousAccounts.add(compositeKey(l.currency, l.account_id), l.amount);
  }
  // Every currency and channel of either period: a channel that billed nothing now still shows its drop.
  const totalKeys = [...new Set([...totals.keys(), ...previousTotals.keys()])];
  const totalRows: TotalRow[] = totalKeys.map((key) => {
    const [currency = "", billingChannel = ""] = keyParts(key);
    const now = totals.get(key);
    const before = previousTotals.get(key).amount;
    const change = now.amount.minus(before);
    return {
      currency,
      billingChannel,
      accounts: accountsOf.get(key)?.size ?? 0,
      lines: now.lines,
      amount: money(now.amount, currency),
      previous: money(before, currency),
      change: money(change, currency),
      ...(before.isZero() ? {} : { changePercent: change.div(before.abs()).times(100).toFixed(1) }),
    };
  });
  totalRows.sort(
    (a, b) => compareStrings(a.currency, b.currency) || compareStrings(a.billingChannel, b.billingChannel),
  );
  const largest = input.largestAccounts ?? 10;
  const accountRows = accounts
    .keys()
    .map((key): AccountRow => {
      const [currency = "", accountId = ""] = keyParts(key);
      const now = accounts.get(key);
      const before = previousAccounts.get(key).amount;
      return {
        accountId,
        billingChannel: channelOf.get(accountId) ?? "",
        currency,
        lines: now.lines,
        amount: money(now.amount, currency),
        previous: money(before, currency),
        change: money(now.amount.minus(before), currency),
      };
    })
    .sort(
      (a, b) =>
        compareStrings(a.currency, b.currency) ||
        dec(b.amount).comparedTo(dec(a.amount)) ||
        compareStrings(a.accountId, b.accountId),
    );
  const perCurrency = new Map<string, number>();
  const largestAccounts = accountRows.filter((r) => {
    const n = (perCurrency.get(r.currency) ?? 0) + 1;
    perCurrency.set(r.currency, n);
    return n <= largest;
  });
  const familyRows = families
    .keys()
    .map((key): FamilyRow => {
      const [currency = "", family = ""] = keyParts(key);
      const s = families.get(key);
      return { currency, family, amount: money(s.amount, currency), lines: s.lines };
    })
    .sort(
      (a, b) =>
        compareStrings(a.currency, b.currency) ||
        dec(b.amount).comparedTo(dec(a.amount)) ||
        compareStrings(a.family, b.family),
    );
  const reports = [...input.reports].sort((a, b) => compareStrings(a.accountId, b.accountId));
  return {
    period: input.period,
    previousPeriod: input.previousPeriod,
    totals: totalRows,
    largestAccounts,
    families: familyRows,
    adjustments: input.lines
      .filter((l) => l.line_type === "adjustment")
      .sort(
        (a, b) =>
          compareStrings(a.account_id, b.account_id) ||
          compareStrings(a.reference_period, b.reference_period) ||
          compareStrings(a.line_id, b.line_id),
      ),
    suspense: reports.flatMap((r) => [
      ...r.suspense.samples.map((s) => ({ ...s, accountId: r.accountId, referencePeriod: r.period })),
      ...r.suspenseCarried.flatMap((c) =>
        c.items.samples.map((s) => ({ ...s, accountId: r.accountId, referencePeriod: c.referencePeriod })),
      ),
    ]),
    conflicts: reports.flatMap((r) => r.conflicts.samples.map((c) => ({ accountId: r.accountId, ...c }))),
    rejectedMessages: reports.flatMap((r) =>
      r.rejectedMessages.samples.map((m) => ({ accountId: r.accountId, ...m })),
    ),
    counts: {
      suspense: reports.reduce(
        (n, r) => n + r.suspense.count + r.suspenseCarried.reduce((m, c) => m + c.items.count, 0),
        0,
      ),
      conflicts: reports.reduce((n, r) => n + r.conflicts.count, 0),
      rejectedMessages: reports.reduce((n, r) => n + r.rejectedMessages.count, 0),
    },
  };
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

/** "1234567.80" → "1,234,567.80" (the exact digits, grouped for reading). */
export function groupDigits(amount: string): string {
  const m = /^(-?)(\d+)(\.\d+)?$/.exec(amount);
  if (!m) return amount;
  return `${m[1]}${(m[2] as string).replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${m[3] ?? ""}`;
}

const signed = (amount: string) => (amount.startsWith("-") || dec(amount).isZero() ? amount : `+${amount}`);

const cell = (text: string, cls = "") => `<td${cls ? ` class="${cls}"` : ""}>${escapeHtml(text)}</td>`;
const num = (text: string) => cell(groupDigits(text), "num");
const changeCell = (change: string) =>
  cell(
    groupDigits(signed(change)),
    `num ${dec(change).isNegative() && !dec(change).isZero() ? "down" : dec(change).isZero() ? "" : "up"}`.trim(),
  );

function table(
  id: string,
  head: readonly string[],
  rows: readonly string[],
  empty: string,
  total = rows.length,
): string {
  if (rows.length === 0 && total === 0) return `<p class="empty" id="${id}">${escapeHtml(empty)}</p>`;
  // A long list shows the close reports' samples; the whole list is in close-report-lists.jsonl.
  const more =
    total > rows.length
      ? `<p class="more" id="${id}-more"${attr("total", total)}>${rows.length} shown of ${total}; every entry is in close-report-lists.jsonl.</p>`
      : "";
  return `<table id="${id}"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>
${rows.join("\n")}
</tbody></table>${more}`;
}

const attr = (name: string, value: string | number) => ` data-${name}="${escapeHtml(String(value))}"`;

/** One horizontal bar chart per currency: amount by product family. */
function familyCharts(families: readonly FamilyRow[]): string {
  const currencies = [...new Set(families.map((f) => f.currency))];
  if (currencies.length === 0) return `<p class="empty">No invoice lines in this period.</p>`;
  return currencies
    .map((currency) => {
      const rows = families.filter((f) => f.currency === currency);
      const max = Math.max(...rows.map((r) => Math.abs(Number(r.amount))), 0);
      const barHeight = 22;
      const gap = 6;
      const labelWidth = 150;
      const chartWidth = 420;
      const height = rows.length * (barHeight + gap) + gap;
      const bars = rows
        .map((r, i) => {
          const y = gap + i * (barHeight + gap);
          const value = Math.abs(Number(r.amount));
          // Display only: the exact amount is the text beside the bar and the data attribute.
          const w = max > 0 ? Math.max(1, Math.round((value / max) * chartWidth)) : 1;
          const cls = dec(r.amount).isNegative() ? "bar negative" : "bar";
          return `<g><text x="${labelWidth - 8}" y="${y + barHeight * 0.7}" text-anchor="end" class="label">${escapeHtml(r.family)}</text>
<rect class="${cls}"${attr("family", r.family)}${attr("amount", r.amount)} x="${labelWidth}" y="${y}" width="${w}" height="${barHeight}" rx="3"><title>${escapeHtml(`${r.family}: ${r.amount} ${currency} (${r.lines} lines)`)}</title></rect>
<text x="${labelWidth + w + 6}" y="${y + barHeight * 0.7}" class="value">${escapeHtml(groupDigits(r.amount))}</text></g>`;
        })
        .join("\n");
      const width = labelWidth + chartWidth + 120;
      return `<figure><figcaption>${escapeHtml(currency)}</figcaption>
<svg class="chart" xmlns="http://www.w3.org/2000/svg"${attr("currency", currency)} role="img" aria-label="${escapeHtml(`Amount by product family in ${currency}`)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
${bars}
</svg></figure>`;
    })
    .join("\n");
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2733; --muted: #5f6b7a; --line: #d9dee5; --accent: #2f6fb3; --up: #1f7a3f; --down: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f7f9; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: var(--muted); }
main { padding: 8px 32px 40px; max-width: 1100px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin-top: 20px; }
h2 { margin: 0 0 12px; font-size: 16px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.up { color: var(--up); } td.down { color: var(--down); }
.empty { color: var(--muted); margin: 0; }
nav a { display: inline-block; margin-right: 16px; color: var(--accent); }
figure { margin: 0 0 12px; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg .bar { fill: var(--accent); } svg .bar.negative { fill: var(--down); }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); } svg .value { fill: var(--muted); }
`;

/** The whole page. */
export function renderPeriodReport(input: PeriodReportInput): string {
  const s = summarizePeriod(input);
  const totals = table(
    "totals",
    [
      "Currency",
      "Channel",
      "Accounts",
      "Lines",
      "Amount",
      `Previous (${s.previousPeriod})`,
      "Change",
      "Change %",
    ],
    s.totals.map(
      (t) =>
        `<tr${attr("currency", t.currency)}${attr("channel", t.billingChannel)}${attr("amount", t.amount)}>${cell(t.currency)}${cell(t.billingChannel)}${cell(String(t.accounts), "num")}${cell(String(t.lines), "num")}${num(t.amount)}${num(t.previous)}${changeCell(t.change)}${cell(t.changePercent === undefined ? "–" : `${signed(t.changePercent)} %`, "num")}</tr>`,
    ),
    "No invoice lines in this period or the previous one.",
  );
  const largest = table(
    "largest-accounts",
    ["Account", "Channel", "Currency", "Lines", "Amount", `Previous (${s.previousPeriod})`, "Change"],
    s.largestAccounts.map(
      (a) =>
        `<tr${attr("account", a.accountId)}${attr("amount", a.amount)}>${cell(a.accountId)}${cell(a.billingChannel)}${cell(a.currency)}${cell(String(a.lines), "num")}${num(a.amount)}${num(a.previous)}${changeCell(a.change)}</tr>`,
    ),
    "No account billed anything in this period.",
  );
  const adjustments = table(
    "adjustments-table",
    ["Account", "Reference period", "Product", "Description", "Quantity", "Amount", "Currency"],
    s.adjustments.map(
      (l) =>
        `<tr${attr("line", l.line_id)}>${cell(l.account_id)}${cell(l.reference_period)}${cell(l.product)}${cell(l.description)}${num(l.quantity)}${num(l.amount)}${cell(l.currency)}</tr>`,
    ),
    "No adjustments of earlier periods.",
  );
  const suspense = table(
    "suspense-table",
    ["Account", "Period", "Product", "Reason", "Quantity", "Events"],
    s.suspense.map(
      (x) =>
        `<tr>${cell(x.accountId)}${cell(x.referencePeriod)}${cell(x.product)}${cell(x.reason)}${num(x.quantity)}${cell(String(x.events), "num")}</tr>`,
    ),
    "Nothing in suspense: every event was priced.",
    s.counts.suspense,
  );
  const conflicts = table(
    "conflicts-table",
    ["Account", "Source", "Event id", "Seen at"],
    s.conflicts.map((c) => `<tr>${cell(c.accountId)}${cell(c.source)}${cell(c.id)}${cell(c.seenAt)}</tr>`),
    "No conflicting events (same identity, different content).",
    s.counts.conflicts,
  );
  const rejected = table(
    "rejected-table",
    ["Account", "Message", "Reason"],
    s.rejectedMessages.map((m) => `<tr>${cell(m.accountId)}${cell(m.messageId)}${cell(m.reason)}</tr>`),
    "No rejected messages.",
    s.counts.rejectedMessages,
  );
  const links = [
    `<a id="link-csv" href="${escapeHtml(input.links.csv)}">Invoice lines (CSV)</a>`,
    `<a id="link-json" href="${escapeHtml(input.links.json)}">Invoice lines (JSON)</a>`,
    ...(input.links.closeReport
      ? [`<a id="link-close-report" href="${escapeHtml(input.links.closeReport)}">Close report (JSON)</a>`]
      : []),
  ].join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Billing report ${escapeHtml(s.period)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Billing report ${escapeHtml(s.period)}</h1>
<p>${input.reports.length} accounts closed · ${input.lines.length} invoice lines · compared with ${escapeHtml(s.previousPeriod)}</p>
</header>
<main>
<section id="downloads"><h2>Exports</h2><nav>
${links}
</nav></section>
<section id="totals-section"><h2>Totals by currency and billing channel</h2>
${totals}
</section>
<section id="families"><h2>Amount by product family</h2>
${familyCharts(s.families)}
</section>
<section id="largest"><h2>Largest accounts</h2>
${largest}
</section>
<section id="adjustments"><h2>Adjustments of earlier periods</h2>
${adjustments}
</section>
<section id="suspense"><h2>Suspense</h2>
${suspense}
</section>
<section id="conflicts"><h2>Conflicts and rejected messages</h2>
${conflicts}
${rejected}
</section>
</main>
</body>
</html>
`;
}

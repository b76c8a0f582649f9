/**
 * The page finance opens for a period (issue 10 item 4): one self-contained HTML document (inline
 * CSS, inline SVG chart, no external asset, no script) rendered from the period's summary
 * (period-summary.ts: the period's invoice lines, the previous period's and the period's close
 * reports). Pure and deterministic: the same input gives the same bytes, so `billing report`,
 * `billing simulate` and the finance API serve one page.
 *
 * Amounts are shown with their exact digits (grouped for reading); only the chart's bar lengths
 * are display approximations.
 */
import { compositeKey, keyParts } from "./keys.js";
import { dec } from "./money.js";
import {
  type AccountSection,
  type FamilyRow,
  invoicer,
  type PeriodReportInput,
  summarizePeriod,
} from "./period-summary.js";

// The page's input and summary, importable from here as well as from period-summary.ts.
export {
  type AccountSection,
  emptyCloseSummary,
  type FamilyRow,
  type InvoicingRow,
  invoicer,
  type Listed,
  noLineReason,
  type PeriodReportInput,
  type PeriodSummary,
  productFamily,
  type ReportCloseSummary,
  summarizePeriod,
  type TotalRow,
  type UnclosedAccount,
} from "./period-summary.js";

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

/** One horizontal bar chart per currency and invoicer: amount by product family. */
function familyCharts(families: readonly FamilyRow[]): string {
  const groups = [...new Set(families.map((f) => compositeKey(f.currency, f.billingChannel)))];
  if (groups.length === 0) return `<p class="empty">No invoice lines in this period.</p>`;
  return groups
    .map((group) => {
      const [currency = "", billingChannel = ""] = keyParts(group);
      const rows = families.filter((f) => f.currency === currency && f.billingChannel === billingChannel);
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
      return `<figure><figcaption>${escapeHtml(`${currency} · ${invoicer(billingChannel)}`)}</figcaption>
<svg class="chart" xmlns="http://www.w3.org/2000/svg"${attr("currency", currency)}${attr("channel", billingChannel)} role="img" aria-label="${escapeHtml(`Amount by product family in ${currency}, ${invoicer(billingChannel)}`)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
${bars}
</svg></figure>`;
    })
    .join("\n");
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2733; --muted: #5f6b7a; --line: #d9dee5; --accent: #2f6fb3; --up: #1f7a3f; --down: #b3261e; --ms: #6b4fa3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f7f9; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: var(--muted); }
main { padding: 8px 32px 40px; width: 100%; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin-top: 20px; }
h2 { margin: 0 0 12px; font-size: 16px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.up { color: var(--up); } td.down { color: var(--down); } td.na { color: var(--muted); font-style: italic; }
.empty { color: var(--muted); margin: 0; }
nav a { display: inline-block; margin-right: 16px; color: var(--accent); }
.cards { display: flex; flex-wrap: wrap; gap: 16px; }
.card { flex: 1 1 260px; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.card h3 { margin: 0 0 8px; font-size: 15px; }
.card dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: 4px 16px; }
.card dt { color: var(--muted); } .card dd { margin: 0; text-align: right; font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card dd.ms { color: var(--ms); }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
figure { margin: 0 0 12px; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg .bar { fill: var(--accent); } svg .bar.negative { fill: var(--down); }
svg[data-channel="azure-marketplace"] .bar { fill: var(--ms); }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); } svg .value { fill: var(--muted); }
details.account { border-bottom: 1px solid var(--line); }
details.account > summary { cursor: pointer; list-style: none; display: grid; grid-template-columns: minmax(160px, 2fr) minmax(140px, 1.2fr) 70px 70px 130px 130px 110px minmax(200px, 3fr); gap: 10px; padding: 6px 10px; align-items: baseline; }
details.account > summary::-webkit-details-marker { display: none; }
details.account > summary::before { content: "▸"; position: absolute; margin-left: -14px; color: var(--muted); }
details.account[open] > summary::before { content: "▾"; }
details.account > summary .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
details.account > summary .note { color: var(--muted); }
details.account > div { padding: 0 10px 12px 24px; }
.accounts-head { display: grid; grid-template-columns: minmax(160px, 2fr) minmax(140px, 1.2fr) 70px 70px 130px 130px 110px minmax(200px, 3fr); gap: 10px; padding: 6px 10px; border-bottom: 1px solid var(--line); }
.accounts-head span { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.accounts-head .num { text-align: right; }
`;

const previousCell = (previous: string | undefined) =>
  previous === undefined ? cell("not closed", "num na") : num(previous);

/** One closed account: its summary row, and its lines when opened. */
function accountDetails(a: AccountSection, previousPeriod: string): string {
  const id = `account-${encodeURIComponent(a.accountId).replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)}`;
  const span = (text: string, cls = "") => `<span${cls ? ` class="${cls}"` : ""}>${escapeHtml(text)}</span>`;
  const change =
    a.change === undefined
      ? span("–", "num")
      : span(groupDigits(signed(a.change)), `num ${dec(a.change).isNegative() ? "down" : ""}`.trim());
  const lines = a.lines.length
    ? table(
        `${id}-lines`,
        [
          "Line type",
          "Product",
          "Dimensions",
          "Description",
          "Quantity",
          "Unit",
          "Unit price",
          "Amount",
          "Reference period",
        ],
        a.lines.map(
          (l) =>
            `<tr${attr("line", l.line_id)}${attr("amount", l.amount)}>${cell(l.line_type)}${cell(l.product)}${cell(l.dimensions)}${cell(l.description)}${num(l.quantity)}${cell(l.unit)}${num(l.unit_price)}${num(l.amount)}${cell(l.reference_period)}</tr>`,
        ),
        "",
      )
    : `<p class="empty">${escapeHtml(a.noLineReason ?? "no line")}</p>`;
  return `<details class="account" id="${id}"${attr("account", a.accountId)}${attr("channel", a.billingChannel)}${attr("currency", a.currency)}${attr("amount", a.amount)}${attr("lines", a.lines.length)}>
<summary>${span(a.accountId)}${span(invoicer(a.billingChannel))}${span(a.currency)}${span(String(a.lines.length), "num")}${span(groupDigits(a.amount), "num")}${span(a.previous === undefined ? `not closed` : groupDigits(a.previous), "num")}${change}${span(a.noLineReason ?? "", "note")}</summary>
<div>${lines}<p class="empty">Previous period ${escapeHtml(previousPeriod)}: ${escapeHtml(a.previous === undefined ? "not closed for this account" : `${groupDigits(a.previous)} ${a.currency}`)}</p></div>
</details>`;
}

/** The whole page. */
export function renderPeriodReport(input: PeriodReportInput): string {
  const s = summarizePeriod(input);
  const previousHead = `Previous (${s.previousPeriod})`;
  const invoicing = s.invoicing.length
    ? `<div class="cards">${s.invoicing
        .map(
          (i) =>
            `<div class="card"${attr("currency", i.currency)}><h3>${escapeHtml(i.currency)}</h3><dl><dt>We invoice</dt><dd class="we"${attr("amount", i.weInvoice)}>${escapeHtml(groupDigits(i.weInvoice))}</dd><dt>Microsoft invoices</dt><dd class="ms"${attr("amount", i.microsoftInvoices)}>${escapeHtml(groupDigits(i.microsoftInvoices))}</dd></dl></div>`,
        )
        .join("\n")}</div>`
    : `<p class="empty">No account closed for this period.</p>`;
  const totals = table(
    "totals",
    ["Currency", "Invoiced by", "Accounts", "Lines", "Amount", previousHead, "Change", "Change %"],
    s.totals.map(
      (t) =>
        `<tr${attr("currency", t.currency)}${attr("channel", t.billingChannel)}${attr("amount", t.amount)}>${cell(t.currency)}${cell(invoicer(t.billingChannel))}${cell(String(t.accounts), "num")}${cell(String(t.lines), "num")}${num(t.amount)}${previousCell(t.previous)}${t.change === undefined ? cell("–", "num") : changeCell(t.change)}${cell(t.changePercent === undefined ? "–" : `${signed(t.changePercent)} %`, "num")}</tr>`,
    ),
    "No invoice lines in this period or the previous one.",
  );
  const accounts = s.accounts.length
    ? `<div class="accounts-head"><span>Account</span><span>Invoiced by</span><span>Currency</span><span class="num">Lines</span><span class="num">Amount</span><span class="num">${escapeHtml(previousHead)}</span><span class="num">Change</span><span>Note</span></div>
<div id="accounts-list">
${s.accounts.map((a) => accountDetails(a, s.previousPeriod)).join("\n")}
</div>`
    : `<p class="empty" id="accounts-list">No account closed for this period.</p>`;
  const adjustments = table(
    "adjustments-table",
    ["Account", "Reference period", "Product", "Dimensions", "Description", "Quantity", "Amount", "Currency"],
    s.adjustments.map(
      (l) =>
        `<tr${attr("line", l.line_id)}>${cell(l.account_id)}${cell(l.reference_period)}${cell(l.product)}${cell(l.dimensions)}${cell(l.description)}${num(l.quantity)}${num(l.amount)}${cell(l.currency)}</tr>`,
    ),
    "No adjustments of earlier periods.",
  );
  const suspense = table(
    "suspense-table",
    ["Account", "Reference period", "Product", "Reason", "Quantity", "Events"],
    s.suspense.map(
      (x) =>
        `<tr>${cell(x.accountId)}${cell(x.referencePeriod)}${cell(x.product)}${cell(x.reason)}${num(x.quantity)}${cell(String(x.events), "num")}</tr>`,
    ),
    "Nothing in suspense: every event was priced.",
    s.counts.suspense,
  );
  const conflicts = table(
    "conflicts-table",
    ["Account", "Reference period", "Source", "Event id", "Seen at"],
    s.conflicts.map(
      (c) =>
        `<tr>${cell(c.accountId)}${cell(c.referencePeriod)}${cell(c.source)}${cell(c.id)}${cell(c.seenAt)}</tr>`,
    ),
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
  const unclosed = table(
    "unclosed-table",
    ["Account", "Invoiced by", "Currency"],
    s.unclosed.map(
      (u) =>
        `<tr${attr("account", u.accountId)}>${cell(u.accountId)}${cell(invoicer(u.billingChannel))}${cell(u.currency)}</tr>`,
    ),
    "Every account with usage in this period is closed.",
  );
  const links = [
    `<a id="link-csv" href="${escapeHtml(input.links.csv)}">Invoice lines (CSV)</a>`,
    `<a id="link-json" href="${escapeHtml(input.links.json)}">Invoice lines (JSON)</a>`,
    ...(input.links.closeReport
      ? [`<a id="link-close-report" href="${escapeHtml(input.links.closeReport)}">Close report (JSON)</a>`]
      : []),
  ].join("\n");
  const lineCount = input.lines.length;
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
<p id="summary"${attr("closed", s.closedAccounts)}>${s.closedAccounts} ${s.closedAccounts === 1 ? "account" : "accounts"} closed · ${lineCount} invoice ${lineCount === 1 ? "line" : "lines"} · previous period ${escapeHtml(s.previousPeriod)}: ${s.previousClosed ? "closed" : "not closed"}${s.unclosed.length ? ` · ${s.unclosed.length} ${s.unclosed.length === 1 ? "account" : "accounts"} with usage not closed` : ""}</p>
</header>
<main>
<section id="invoicing"><h2>Who invoices what</h2>
${invoicing}
</section>
<section id="downloads"><h2>Exports</h2><nav>
${links}
</nav></section>
<section id="totals-section"><h2>Totals by currency and invoicer</h2>
${totals}
</section>
<section id="families"><h2>Amount by product family</h2>
<div class="charts">
${familyCharts(s.families)}
</div>
</section>
<section id="accounts"><h2>Accounts (${s.closedAccounts} closed; open one for its lines)</h2>
${accounts}
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
<section id="unclosed"><h2>Accounts with usage and no close</h2>
${unclosed}
</section>
</main>
</body>
</html>
`;
}

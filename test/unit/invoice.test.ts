/** Invoice lines and late-event adjustments (contract §4, rating-rules G7). */
import { describe, expect, it } from "vitest";
import { dec } from "../../shared/core/money.js";
import {
  adjustmentLines,
  invoiceLinesToCsv,
  sortInvoiceLines,
  toInvoiceLine,
} from "../../shared/core/rating/invoice.js";
import type { PricedLine } from "../../shared/core/rating/pricing.js";
import { account } from "../support/events.js";

const a = account();
const V = "2025-01-01T00:00:00Z";
const priced = (
  over: Partial<Omit<PricedLine, "quantity" | "unitPrice" | "amount">> & {
    quantity: string;
    unitPrice: string;
    amount: string;
  },
): PricedLine => ({
  lineType: "usage",
  product: "sms.mt",
  dimensions: { country: "TR" },
  tariffVersion: V,
  description: "d",
  unit: "message",
  ...over,
  quantity: dec(over.quantity),
  unitPrice: dec(over.unitPrice),
  amount: dec(over.amount),
});

describe("invoice lines", () => {
  it("have deterministic ids, sorted dimensions and minor-unit amounts", () => {
    const sms = {
      quantity: "3",
      unitPrice: "0.012",
      amount: "0.04",
      dimensions: { network: "x", country: "TR" },
    };
    const l = toInvoiceLine(a, "EUR", "2025-07", "2025-07", priced(sms));
    expect(l).toMatchObject({
      dimensions: "country=TR;network=x",
      quantity: "3",
      unit_price: "0.012",
      amount: "0.04",
      billing_channel: "direct",
    });
    // The same line built again has the same id.
    expect(toInvoiceLine(a, "EUR", "2025-07", "2025-07", priced(sms)).line_id).toBe(l.line_id);
    expect(
      toInvoiceLine(
        a,
        "EUR",
        "2025-08",
        "2025-07",
        priced({ quantity: "3", unitPrice: "0.012", amount: "0.04" }),
      ).line_id,
    ).not.toBe(l.line_id);
  });
  it("CSV has exactly the contract header and quotes what needs quoting", () => {
    const l = toInvoiceLine(
      a,
      "EUR",
      "2025-07",
      "2025-07",
      priced({ quantity: "1", unitPrice: "1", amount: "1.00", description: 'a, "b"' }),
    );
    const [header, row] = invoiceLinesToCsv([l]).split("\n");
    expect(header).toBe(
      "account_id,period,line_id,line_type,product,dimensions,description,quantity,unit,unit_price,amount,currency,billing_channel,reference_period,tariff_version",
    );
    expect(row).toContain('"a, ""b"""');
  });
  it("sort by account, reference period, line type, product, dimensions (contract §4)", () => {
    const mk = (p: string, ref: string, lt: PricedLine["lineType"]) =>
      toInvoiceLine(
        a,
        "EUR",
        "2025-08",
        ref,
        priced({ product: p, lineType: lt, quantity: "1", unitPrice: "1", amount: "1.00" }),
      );
    const sorted = sortInvoiceLines([
      mk("sms.mt", "2025-08", "usage"),
      mk("sms.mo", "2025-08", "usage"),
      mk("sms.mt", "2025-07", "adjustment"),
      mk("a", "2025-08", "recurring"),
    ]);
    expect(sorted.map((l) => `${l.reference_period} ${l.line_type} ${l.product}`)).toEqual([
      "2025-07 adjustment sms.mt",
      "2025-08 recurring a",
      "2025-08 usage sms.mo",
      "2025-08 usage sms.mt",
    ]);
  });
});

describe("G7 adjustments", () => {
  const emitted = [
    toInvoiceLine(
      a,
      "EUR",
      "2025-07",
      "2025-07",
      priced({ quantity: "3", unitPrice: "0.012", amount: "0.04" }),
    ),
  ];
  it("bill the difference of rounded amounts, per product, dimensions, version and unit price", () => {
    const adj = adjustmentLines(a, "EUR", "2025-08", "2025-07", emitted, [
      priced({ quantity: "4", unitPrice: "0.012", amount: "0.05" }),
    ]);
    expect(
      adj.map((l) => [l.line_type, l.period, l.reference_period, l.quantity, l.unit_price, l.amount]),
    ).toEqual([["adjustment", "2025-08", "2025-07", "1", "0.012", "0.01"]]);
  });
  it("contract §1: keep a dimension value with `|` whole, at its own unit price", () => {
    const dimensions = { feature: "chat|v2", model: "a|b,c" };
    const before = [
      toInvoiceLine(a, "EUR", "2025-07", "2025-07", {
        ...priced({ quantity: "1", unitPrice: "0.3", amount: "0.30" }),
        product: "genai.interaction",
        dimensions,
      }),
    ];
    const adj = adjustmentLines(a, "EUR", "2025-08", "2025-07", before, [
      {
        ...priced({ quantity: "3", unitPrice: "0.3", amount: "0.90" }),
        product: "genai.interaction",
        dimensions,
      },
    ]);
    expect(adj.map((l) => [l.dimensions, l.tariff_version, l.quantity, l.unit_price, l.amount])).toEqual([
      ["feature=chat|v2;model=a|b,c", V, "2", "0.3", "0.60"],
    ]);
  });
  it("credit what a late event made free (negative difference)", () => {
    const adj = adjustmentLines(a, "EUR", "2025-08", "2025-07", emitted, [
      priced({ quantity: "2", unitPrice: "0.012", amount: "0.02" }),
    ]);
    expect(adj.map((l) => [l.quantity, l.amount])).toEqual([["-1", "-0.02"]]);
  });
  it("a line that disappears entirely is credited in full; nothing changes, nothing emitted", () => {
    expect(
      adjustmentLines(a, "EUR", "2025-08", "2025-07", emitted, []).map((l) => [l.quantity, l.amount]),
    ).toEqual([["-3", "-0.04"]]);
    expect(
      adjustmentLines(a, "EUR", "2025-08", "2025-07", emitted, [
        priced({ quantity: "3", unitPrice: "0.012", amount: "0.04" }),
      ]),
    ).toEqual([]);
  });
  it("earlier adjustments count as already emitted", () => {
    const first = adjustmentLines(a, "EUR", "2025-08", "2025-07", emitted, [
      priced({ quantity: "4", unitPrice: "0.012", amount: "0.05" }),
    ]);
    expect(
      adjustmentLines(
        a,
        "EUR",
        "2025-09",
        "2025-07",
        [...emitted, ...first],
        [priced({ quantity: "4", unitPrice: "0.012", amount: "0.05" })],
      ),
    ).toEqual([]);
  });
  it("informational (Signals) differences stay informational at zero", () => {
    const adj = adjustmentLines(
      a,
      "EUR",
      "2025-08",
      "2025-07",
      [],
      [priced({ lineType: "informational", quantity: "2", unitPrice: "0", amount: "0" })],
    );
    expect(adj.map((l) => [l.line_type, l.quantity, l.amount])).toEqual([["informational", "2", "0.00"]]);
  });
});

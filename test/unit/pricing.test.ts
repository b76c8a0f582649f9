/** Pricing (contract §3, §4; rating-rules G4, G8, G10, G14, §2, §3.1). */
import { describe, expect, it } from "vitest";
import type { ProductCode } from "../../shared/core/catalogue.js";
import { dec } from "../../shared/core/money.js";
import { findRate, priceCharges, versionAt } from "../../shared/core/rating/pricing.js";
import type { Charge } from "../../shared/core/rating/types.js";
import { periodWindow } from "../../shared/core/time.js";
import { account, tariff, v2025 } from "../support/events.js";

const july = periodWindow("2025-07", "UTC");
const charge = (
  product: ProductCode,
  quantity: string | number,
  dimensions: Record<string, string> = {},
  at = july.start + 1000,
  extra: Partial<Charge> = {},
): Charge => ({
  product,
  dimensions,
  quantity: dec(quantity),
  pricedAt: at,
  ref: "test",
  ...extra,
});
const summary = (r: ReturnType<typeof priceCharges>) =>
  r.lines
    .map(
      (l) =>
        `${l.lineType} ${l.product} [${Object.entries(l.dimensions)
          .map(([k, v]) => `${k}=${v}`)
          .sort()
          .join(
            ";",
          )}] ${l.quantity.toFixed()} x ${l.unitPrice.toFixed()} = ${l.amount.toFixed(2)} @${l.tariffVersion}`,
    )
    .sort();

describe("rate matching (contract §3)", () => {
  const version = tariff([
    v2025([
      { product: "sms.mt", match: { country: "TR" }, unitPrice: "0.012" },
      { product: "sms.mt", unitPrice: "0.05" },
      { product: "sms.mt", match: { country: "TR", network: "turkcell" }, unitPrice: "0.010" },
      { product: "sms.mt", match: { country: "TR" }, unitPrice: "0.999" },
    ]),
  ]).versions[0]!;
  it.each([
    ["most specific match wins", { country: "TR", network: "turkcell" }, "0.010"],
    ["one key beats the default", { country: "TR", network: "vodafone" }, "0.012"],
    ["same key count: the first listed wins", { country: "TR" }, "0.012"],
    ["no match key equal: the default", { country: "DE" }, "0.05"],
    ["G14: a charge lacking a dimension never matches a rate keyed on it", {}, "0.05"],
  ])("%s", (_name, dims, price) => {
    expect(findRate(version, "sms.mt", dims)?.unitPrice).toBe(price);
  });
});

describe("G4 rounding once per line, half-up", () => {
  const t = tariff([
    v2025([
      { product: "sms.mt", match: { country: "TR" }, unitPrice: "0.012" },
      { product: "sms.mo", unitPrice: "0.005" },
    ]),
  ]);
  it.each([
    [3, "0.04"], // 0.036 → 0.04
    [1, "0.01"], // 0.012 → 0.01
    [125, "1.50"],
  ])("%i SMS at 0.012 → %s", (n, amount) => {
    const r = priceCharges({
      account: account(),
      tariff: t,
      period: july,
      charges: Array.from({ length: n }, () => charge("sms.mt", 1, { country: "TR" })),
      blocked: [],
    });
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]!.amount.toFixed(2)).toBe(amount);
  });
  it("0.005 rounds half-up to 0.01", () => {
    const r = priceCharges({
      account: account(),
      tariff: t,
      period: july,
      charges: [charge("sms.mo", 1, { country: "TR" })],
      blocked: [],
    });
    expect(r.lines[0]!.amount.toFixed(2)).toBe("0.01");
  });
  it("JPY has no minor unit", () => {
    const jpy = tariff([v2025([{ product: "sms.mo", unitPrice: "1.5" }])], { currency: "JPY" });
    const r = priceCharges({
      account: account({ currency: "JPY" }),
      tariff: jpy,
      period: july,
      charges: [charge("sms.mo", 1)],
      blocked: [],
    });
    expect(r.lines[0]!.amount.toFixed()).toBe("2");
  });
});

describe("tiers (contract §3)", () => {
  const steps = [
    { upTo: 100, unitPrice: "0.07" },
    { upTo: 200, unitPrice: "0.06" },
    { upTo: null, unitPrice: "0.05" },
  ];
  const priced = (mode: string, n: number) =>
    summary(
      priceCharges({
        account: account(),
        tariff: tariff([v2025([{ product: "sms.mt", match: { country: "DE" }, tiers: { mode, steps } }])]),
        period: july,
        charges: [charge("sms.mt", n, { country: "DE", network: "x" })],
        blocked: [],
      }),
    );
  it("graduated: each unit at the price of its step, one line per step reached, dimensions = the rate's match", () => {
    expect(priced("graduated", 250)).toEqual(
      [
        "usage sms.mt [country=DE] 100 x 0.07 = 7.00 @2025-01-01T00:00:00Z",
        "usage sms.mt [country=DE] 100 x 0.06 = 6.00 @2025-01-01T00:00:00Z",
        "usage sms.mt [country=DE] 50 x 0.05 = 2.50 @2025-01-01T00:00:00Z",
      ].sort(),
    );
  });
  it("graduated: exactly at a step boundary stays in the lower step", () => {
    expect(priced("graduated", 100)).toEqual([
      "usage sms.mt [country=DE] 100 x 0.07 = 7.00 @2025-01-01T00:00:00Z",
    ]);
  });
  it("volume: all units at the price of the step the total reaches", () => {
    expect(priced("volume", 250)).toEqual([
      "usage sms.mt [country=DE] 250 x 0.05 = 12.50 @2025-01-01T00:00:00Z",
    ]);
    expect(priced("volume", 150)).toEqual([
      "usage sms.mt [country=DE] 150 x 0.06 = 9.00 @2025-01-01T00:00:00Z",
    ]);
  });
});

describe("G8 effective-dated versions", () => {
  const t = tariff([
    v2025(
      [{ product: "sms.mt", unitPrice: "0.05" }],
      [{ product: "moments.engaged_people", includedQuantity: 0, fee: "10", overageUnitPrice: "1" }],
    ),
    {
      publishedAt: "2025-06-01T00:00:00Z",
      effectiveFrom: "2025-07-15T00:00:00Z",
      rates: [{ product: "sms.mt", unitPrice: "0.04" }],
      packages: [
        { product: "moments.engaged_people", includedQuantity: 0, fee: "20", overageUnitPrice: "2" },
      ],
    },
  ]);
  it("per-event charges use the version at the event time; per-period ones the version at the period start", () => {
    const r = priceCharges({
      account: account(),
      tariff: t,
      period: july,
      charges: [
        charge("sms.mt", 1, {}, Date.parse("2025-07-14T23:59:59Z")),
        charge("sms.mt", 1, {}, Date.parse("2025-07-15T00:00:00Z")),
        charge("moments.engaged_people", 2, {}, july.start),
      ],
      blocked: [],
    });
    expect(summary(r)).toEqual([
      "package_fee moments.engaged_people [] 1 x 10 = 10.00 @2025-01-01T00:00:00Z",
      "package_overage moments.engaged_people [] 2 x 1 = 2.00 @2025-01-01T00:00:00Z",
      "usage sms.mt [] 1 x 0.04 = 0.04 @2025-07-15T00:00:00Z",
      "usage sms.mt [] 1 x 0.05 = 0.05 @2025-01-01T00:00:00Z",
    ]);
    expect(versionAt(t, Date.parse("2024-12-31T23:59:59Z"))).toBeUndefined();
  });
});

describe("G10 suspense", () => {
  it("a charge no rate prices is held with its reason, never dropped", () => {
    const t = tariff([v2025([{ product: "sms.mt", match: { country: "TR" }, unitPrice: "0.012" }])]);
    const r = priceCharges({
      account: account(),
      tariff: t,
      period: july,
      charges: [charge("sms.mt", 1, { country: "DE" }), charge("sms.mo", 2, { country: "TR" })],
      blocked: [],
    });
    expect(r.lines).toHaveLength(0);
    expect(r.suspense.map((s) => [s.product, s.quantity.toFixed(), s.reason])).toEqual([
      ["sms.mt", "1", "no rate for sms.mt (country=DE) in tariff t1 version 2025-01-01T00:00:00Z"],
      ["sms.mo", "2", "no rate for sms.mo (country=TR) in tariff t1 version 2025-01-01T00:00:00Z"],
    ]);
  });
  it("before the first version: suspense", () => {
    const t = tariff([v2025([{ product: "sms.mt", unitPrice: "0.05" }])]);
    const r = priceCharges({
      account: account(),
      tariff: t,
      period: periodWindow("2024-12", "UTC"),
      charges: [charge("sms.mt", 1, {}, Date.parse("2024-12-05T00:00:00Z"))],
      blocked: [],
    });
    expect(r.suspense[0]?.reason).toMatch(/no version of tariff t1 in force/);
  });
});

describe("§2 packages", () => {
  const pkg = {
    product: "conversations.active_agents",
    includedQuantity: 10,
    fee: "310.00",
    overageUnitPrice: "25",
  };
  const t = tariff([v2025([], [pkg])]);
  it("the fee is charged every period, used or not", () => {
    expect(
      summary(priceCharges({ account: account(), tariff: t, period: july, charges: [], blocked: [] })),
    ).toEqual(["package_fee conversations.active_agents [] 1 x 310 = 310.00 @2025-01-01T00:00:00Z"]);
  });
  it("overage above the included quantity; first month prorated by (D − d + 1)/D with a credit line", () => {
    const a = account({ settings: { namedUserPricingStart: "2025-07-11" } });
    expect(
      summary(
        priceCharges({
          account: a,
          tariff: t,
          period: july,
          charges: [charge("conversations.active_agents", 12, {}, july.start)],
          blocked: [],
        }),
      ),
    ).toEqual([
      "package_fee conversations.active_agents [] 1 x 310 = 310.00 @2025-01-01T00:00:00Z",
      "package_overage conversations.active_agents [] 2 x 25 = 50.00 @2025-01-01T00:00:00Z",
      "proration conversations.active_agents [] 1 x -100 = -100.00 @2025-01-01T00:00:00Z",
    ]);
  });
  it("no proration line when pricing starts on day 1 or in another period", () => {
    for (const start of ["2025-07-01", "2025-06-11"]) {
      const a = account({ settings: { namedUserPricingStart: start } });
      expect(
        priceCharges({ account: a, tariff: t, period: july, charges: [], blocked: [] }).lines.map(
          (l) => l.lineType,
        ),
      ).toEqual(["package_fee"]);
    }
  });
  it("proration credit is rounded once, half-up", () => {
    const a = account({ settings: { namedUserPricingStart: "2025-07-02" } });
    const t2 = tariff([v2025([], [{ ...pkg, fee: "100.00" }])]);
    const pr = priceCharges({ account: a, tariff: t2, period: july, charges: [], blocked: [] }).lines.find(
      (l) => l.lineType === "proration",
    );
    expect(pr?.amount.toFixed(2)).toBe("-3.23"); // 100 × 1/31 = 3.2258…
    expect(pr?.unitPrice.toFixed()).toBe("-3.225806"); // G4: unit prices carry up to 6 decimals
  });
});

describe("§3.1 Viber minimum commitment", () => {
  const t = tariff([
    v2025([
      { product: "viber.message", unitPrice: "0.0125" },
      { product: "viber.session", unitPrice: "0.10" },
    ]),
  ]);
  const a = account({
    commitments: [
      { serviceId: "svc-1", minimumAmount: "1.00" },
      { serviceId: "svc-idle", minimumAmount: "5.00" },
    ],
  });
  it("tops up the unrounded charges of an active sender; idle senders owe nothing", () => {
    const charges = [
      ...Array.from({ length: 3 }, () =>
        charge("viber.message", 1, { messageType: "promotional" }, july.start + 5, {
          commitmentServiceId: "svc-1",
        }),
      ),
      charge("viber.session", 1, {}, july.start + 6, { commitmentServiceId: "svc-1" }),
    ];
    const lines = summary(priceCharges({ account: a, tariff: t, period: july, charges, blocked: [] }));
    // 3 × 0.0125 + 0.10 = 0.1375 → true-up 0.8625 → 0.86
    expect(lines).toContain(
      "commitment_true_up viber.commitment [serviceId=svc-1] 1 x 0.8625 = 0.86 @2025-01-01T00:00:00Z",
    );
    expect(lines.some((l) => l.includes("svc-idle"))).toBe(false);
  });
  it("a sender active only through a session charged in an earlier period owes the whole minimum", () => {
    const lines = summary(
      priceCharges({
        account: a,
        tariff: t,
        period: july,
        charges: [],
        blocked: [],
        commitmentSenders: new Set(["svc-idle"]),
      }),
    );
    expect(lines).toEqual([
      "commitment_true_up viber.commitment [serviceId=svc-idle] 1 x 5 = 5.00 @2025-01-01T00:00:00Z",
    ]);
  });
});

describe("G2 informational lines", () => {
  it("blocked traffic is reported at zero price with the dimensions it would have had", () => {
    const t = tariff([v2025([{ product: "sms.mt", unitPrice: "0.05" }])]);
    const r = priceCharges({
      account: account(),
      tariff: t,
      period: july,
      charges: [],
      blocked: [charge("sms.mt", 1, { country: "TR" }), charge("sms.mt", 1, { country: "TR" })],
    });
    expect(summary(r)).toEqual(["informational sms.mt [country=TR] 2 x 0 = 0.00 @2025-01-01T00:00:00Z"]);
  });
});

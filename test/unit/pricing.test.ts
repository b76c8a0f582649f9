/**
 * The pricing router (contract §3; rating-rules G8, G10, G14): which version and which rate price a
 * charge, and what is held in suspense. Each price type has its own table test in pricing/.
 */
import { describe, expect, it } from "vitest";
import { findRate, priceCharges, versionAt } from "../../shared/core/rating/pricing.js";
import { periodWindow } from "../../shared/core/time.js";
import { account, tariff, v2025 } from "../support/events.js";
import { charge, july, summary } from "./pricing/harness.js";

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
      "package_fee moments.engaged_people [] 1 month x 10 = 10.00 @2025-01-01T00:00:00Z",
      "package_overage moments.engaged_people [] 2 person x 1 = 2.00 @2025-01-01T00:00:00Z",
      "usage sms.mt [] 1 message x 0.04 = 0.04 @2025-07-15T00:00:00Z",
      "usage sms.mt [] 1 message x 0.05 = 0.05 @2025-01-01T00:00:00Z",
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

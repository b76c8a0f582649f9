/**
 * Marketplace pass-through, the pure part (rating-rules §6; shared/core/marketplace/usage.ts):
 * overage above included quantities per dimension and hour, late usage, month boundaries, hours to
 * report within 24 hours, batches of at most 25.
 */
import { describe, expect, it } from "vitest";
import {
  type AccountedUsage,
  batches,
  cumulativeByDimension,
  hourIso,
  hoursToReport,
  MAX_EVENTS_PER_BATCH,
  marketplaceDimensionOf,
  overageByHour,
  type PlannedUsage,
  periodsConsideredFor,
  planHourlyUsage,
} from "../../shared/core/marketplace/usage.js";
import { dec } from "../../shared/core/money.js";
import type { LedgerEvent } from "../../shared/core/rating/types.js";
import { HOUR, periodWindow } from "../../shared/core/time.js";
import { account, ev } from "../support/events.js";

const azureAccount = (over: { included?: Record<string, number>; timezone?: string } = {}) =>
  account({
    billingChannel: "azure-marketplace",
    ...(over.timezone ? { timezone: over.timezone } : {}),
    azure: {
      resourceId: "res-1",
      planId: "plan-1",
      dimensions: { "sms.mt": "sms_mt", "sms.mo": "sms_mo", "whatsapp.template.marketing": "wa_mkt" },
      includedQuantities: over.included ?? { sms_mt: 5 },
    },
  });

const at = (iso: string) => Date.parse(iso);
const sms = (time: string, over: Record<string, unknown> = {}, id?: string) =>
  ev("sms.mt", time, { to: "905320000000", country: "TR", status: "submitted", ...over }, id ? { id } : {});
const mo = (time: string) => ev("sms.mo", time, { from: "905320000000", country: "TR", status: "accepted" });

/** Plans hour by hour as the reporter does: each hour's plan becomes accounted before the next. */
function planHours(
  acct: ReturnType<typeof azureAccount>,
  events: readonly LedgerEvent[],
  hours: number[],
  accounted: AccountedUsage[] = [],
) {
  const planned = planHourlyUsage(acct, overageByHour(acct, events, hours), accounted);
  return planned.map((p) => [p.request.effectiveStartTime, p.dimension, p.request.quantity] as const);
}

const toAccounted = (p: PlannedUsage): AccountedUsage => ({
  dimension: p.dimension,
  hour: p.hour,
  byPeriod: Object.fromEntries(Object.entries(p.byPeriod).map(([k, v]) => [k, v.toFixed()])),
});

const hoursFrom = (iso: string, count: number) => Array.from({ length: count }, (_, i) => at(iso) + i * HOUR);

describe("dimension mapping (contract §2 azure.dimensions)", () => {
  it("maps a product code, a product.category key wins over it, unmapped products count for nothing", () => {
    const a = azureAccount();
    expect(marketplaceDimensionOf(a, { product: "sms.mt", dimensions: { country: "TR" } })).toBe("sms_mt");
    expect(
      marketplaceDimensionOf(a, { product: "whatsapp.template", dimensions: { category: "marketing" } }),
    ).toBe("wa_mkt");
    expect(
      marketplaceDimensionOf(a, { product: "whatsapp.template", dimensions: { category: "utility" } }),
    ).toBeUndefined();
    expect(marketplaceDimensionOf(a, { product: "voice.minute", dimensions: {} })).toBeUndefined();
    expect(marketplaceDimensionOf(account(), { product: "sms.mt", dimensions: {} })).toBeUndefined();
  });

  it("sums charges of every country into one dimension; rejected (G1), blocked (G2) and duplicate (G5) events do not count", () => {
    const a = azureAccount();
    const events = [
      sms("2025-07-02T09:05:00Z"),
      sms("2025-07-02T09:06:00Z", { country: "DE" }),
      sms("2025-07-02T09:07:00Z", { status: "rejected" }),
      sms("2025-07-02T09:08:00Z", { blocked: true }),
      mo("2025-07-02T09:09:00Z"),
    ];
    const totals = cumulativeByDimension(
      a,
      periodWindow("2025-07", "UTC"),
      events,
      at("2025-07-02T10:00:00Z"),
    );
    expect(Object.fromEntries([...totals].map(([d, q]) => [d, q.toNumber()]))).toEqual({
      sms_mt: 2,
      sms_mo: 1,
    });
  });
});

describe("overage per hour above the included quantities", () => {
  it("reports nothing while under the included quantity, then only the part above it, in the hour it is crossed", () => {
    const a = azureAccount(); // 5 sms_mt included, sms_mo none (default 0)
    const events = [
      sms("2025-07-02T09:05:00Z"),
      sms("2025-07-02T09:20:00Z"),
      sms("2025-07-02T09:40:00Z"),
      sms("2025-07-02T10:10:00Z"),
      sms("2025-07-02T10:30:00Z"), // 5th: still included
      sms("2025-07-02T10:50:00Z"), // 6th: 1 above
      sms("2025-07-02T11:15:00Z"),
      sms("2025-07-02T11:20:00Z"),
      mo("2025-07-02T11:30:00Z"),
      sms("2025-07-02T13:59:59Z"),
    ];
    expect(planHours(a, events, hoursFrom("2025-07-02T09:00:00Z", 6))).toEqual([
      ["2025-07-02T10:00:00Z", "sms_mt", 1],
      ["2025-07-02T11:00:00Z", "sms_mo", 1],
      ["2025-07-02T11:00:00Z", "sms_mt", 2],
      ["2025-07-02T13:00:00Z", "sms_mt", 1],
    ]);
  });

  it("an event at exactly the hour's end belongs to the next hour", () => {
    const a = azureAccount({ included: {} });
    expect(planHours(a, [sms("2025-07-02T10:00:00Z")], hoursFrom("2025-07-02T09:00:00Z", 2))).toEqual([
      ["2025-07-02T10:00:00Z", "sms_mt", 1],
    ]);
  });

  it("the included quantity is per billing month in the account's time zone (G3)", () => {
    // Europe/Istanbul is UTC+3: August starts at 2025-07-31T21:00Z.
    const a = azureAccount({ included: { sms_mt: 1 }, timezone: "Europe/Istanbul" });
    const events = [
      sms("2025-07-31T20:10:00Z"),
      sms("2025-07-31T20:20:00Z"), // July: 1 above
      sms("2025-07-31T21:10:00Z"), // August: included
      sms("2025-07-31T21:20:00Z"), // August: 1 above
    ];
    const planned = planHourlyUsage(a, overageByHour(a, events, hoursFrom("2025-07-31T20:00:00Z", 2)), []);
    expect(planned.map((p) => [p.request.effectiveStartTime, p.request.quantity, p.byPeriod])).toEqual([
      ["2025-07-31T20:00:00Z", 1, { "2025-07": dec(1) }],
      ["2025-07-31T21:00:00Z", 1, { "2025-08": dec(1) }],
    ]);
  });

  it("a month starting mid-hour (UTC+05:30) splits the hour's quantity between the two months", () => {
    // Asia/Kolkata: August starts at 2025-07-31T18:30Z, inside the hour 18:00–19:00 UTC.
    const a = azureAccount({ included: {}, timezone: "Asia/Kolkata" });
    const events = [sms("2025-07-31T18:10:00Z"), sms("2025-07-31T18:40:00Z"), sms("2025-07-31T18:50:00Z")];
    const [only, ...rest] = planHourlyUsage(a, overageByHour(a, events, [at("2025-07-31T18:00:00Z")]), []);
    expect(rest).toEqual([]);
    expect(only?.request).toMatchObject({ effectiveStartTime: "2025-07-31T18:00:00Z", quantity: 3 });
    expect(only?.byPeriod).toEqual({ "2025-07": dec(1), "2025-08": dec(2) });
  });
});

describe("late usage and what is already accounted", () => {
  it("a late event of an hour already reported lands in the next reported hour", () => {
    const a = azureAccount({ included: {} });
    const first = [sms("2025-07-02T09:10:00Z"), sms("2025-07-02T10:10:00Z")];
    const reported = planHourlyUsage(a, overageByHour(a, first, hoursFrom("2025-07-02T09:00:00Z", 2)), []);
    expect(reported.map((p) => p.request.quantity)).toEqual([1, 1]);
    // Two events of 09:xx arrive after hours 09 and 10 were reported; hour 11 has one of its own.
    const late = [
      ...first,
      sms("2025-07-02T09:30:00Z"),
      sms("2025-07-02T09:45:00Z"),
      sms("2025-07-02T11:05:00Z"),
    ];
    expect(planHours(a, late, [at("2025-07-02T11:00:00Z")], reported.map(toAccounted))).toEqual([
      ["2025-07-02T11:00:00Z", "sms_mt", 3],
    ]);
  });

  it("records of every status count as accounted: expired or rejected quantity is not carried to later hours", () => {
    const a = azureAccount({ included: {} });
    const events = [sms("2025-07-02T09:10:00Z"), sms("2025-07-02T09:20:00Z"), sms("2025-07-02T10:10:00Z")];
    const expired: AccountedUsage = {
      dimension: "sms_mt",
      hour: at("2025-07-02T09:00:00Z"),
      byPeriod: { "2025-07": "2" },
    };
    expect(planHours(a, events, [at("2025-07-02T10:00:00Z")], [expired])).toEqual([
      ["2025-07-02T10:00:00Z", "sms_mt", 1],
    ]);
  });

  it("an hour that already has a record for the dimension is never reported again: its new usage goes to the next hour", () => {
    const a = azureAccount({ included: {} });
    const events = [sms("2025-07-02T09:10:00Z"), sms("2025-07-02T09:20:00Z")];
    const existing: AccountedUsage = {
      dimension: "sms_mt",
      hour: at("2025-07-02T09:00:00Z"),
      byPeriod: { "2025-07": "1" },
    };
    expect(planHours(a, events, hoursFrom("2025-07-02T09:00:00Z", 2), [existing])).toEqual([
      ["2025-07-02T10:00:00Z", "sms_mt", 1],
    ]);
  });

  it("late usage of the previous month is reported in the next hour, against that month's included quantity", () => {
    const a = azureAccount({ included: { sms_mt: 1 } });
    const july = [sms("2025-07-31T22:10:00Z"), sms("2025-07-31T22:20:00Z")]; // 1 above July's included
    const reported = planHourlyUsage(a, overageByHour(a, july, [at("2025-07-31T22:00:00Z")]), []);
    expect(reported.map((p) => p.request.quantity)).toEqual([1]);
    const events = [...july, sms("2025-07-31T23:50:00Z"), sms("2025-08-01T02:10:00Z")];
    const planned = planHourlyUsage(
      a,
      overageByHour(a, events, hoursFrom("2025-08-01T02:00:00Z", 2)),
      reported.map(toAccounted),
    );
    // The late July event is 1 above July's included; August's first event is included.
    expect(planned.map((p) => [p.request.effectiveStartTime, p.request.quantity, p.byPeriod])).toEqual([
      ["2025-08-01T02:00:00Z", 1, { "2025-07": dec(1) }],
    ]);
  });

  it("never reports a month that ended before the account's first reported hour", () => {
    expect(periodsConsideredFor(at("2025-08-01T05:00:00Z"), "UTC")).toEqual(["2025-07", "2025-08"]);
    expect(periodsConsideredFor(at("2025-08-01T05:00:00Z"), "UTC", at("2025-08-01T00:00:00Z"))).toEqual([
      "2025-08",
    ]);
    const a = azureAccount({ included: {} });
    const events = [sms("2025-07-20T10:00:00Z"), sms("2025-08-01T05:10:00Z")];
    const hour = at("2025-08-01T05:00:00Z");
    expect(
      planHourlyUsage(a, overageByHour(a, events, [hour], { firstHour: hour }), []).map((p) =>
        p.quantity.toNumber(),
      ),
    ).toEqual([1]);
  });
});

describe("hours to report (one event per hour, within 24 hours)", () => {
  const now = at("2025-07-02T12:20:00Z");
  it("reports the completed hours after the watermark, up to the last completed hour", () => {
    const { hours, skipped } = hoursToReport(now, at("2025-07-02T08:00:00Z"));
    expect(hours.map(hourIso)).toEqual([
      "2025-07-02T09:00:00Z",
      "2025-07-02T10:00:00Z",
      "2025-07-02T11:00:00Z",
    ]);
    expect(skipped).toBe(0);
  });
  it("nothing when the watermark is the last completed hour, or no hour has completed since fromHour", () => {
    expect(hoursToReport(now, at("2025-07-02T11:00:00Z")).hours).toEqual([]);
    expect(hoursToReport(at("2025-07-02T09:05:00Z"), undefined, at("2025-07-02T09:05:00Z")).hours).toEqual(
      [],
    );
  });
  it("starts at fromHour for an account without a watermark", () => {
    expect(hoursToReport(now, undefined, at("2025-07-02T10:30:00Z")).hours.map(hourIso)).toEqual([
      "2025-07-02T10:00:00Z",
      "2025-07-02T11:00:00Z",
    ]);
  });
  it("never reports more than 24 hours back; hours older than that are returned as expired (recorded, never sent)", () => {
    const { hours, expired, skipped } = hoursToReport(now, at("2025-06-30T11:00:00Z"));
    expect(hourIso(hours[0]!)).toBe("2025-07-01T13:00:00Z");
    expect(hours).toHaveLength(23);
    expect(skipped).toBe(25); // 2025-06-30T12:00 … 2025-07-01T12:00
    expect([hourIso(expired[0]!), hourIso(expired.at(-1)!), expired.length]).toEqual([
      "2025-06-30T12:00:00Z",
      "2025-07-01T12:00:00Z",
      25,
    ]);
    expect(hoursToReport(now, undefined).hours).toHaveLength(23);
    // On an hour boundary, the hour exactly 24 hours back is still within the window.
    expect(hourIso(hoursToReport(at("2025-07-02T12:00:00Z"), undefined).hours[0]!)).toBe(
      "2025-07-01T12:00:00Z",
    );
  });
  it("formats effectiveStartTime as the UTC hour", () => {
    expect(hourIso(at("2025-07-02T10:59:59.999Z"))).toBe("2025-07-02T10:00:00Z");
  });
});

describe("batches of at most 25 usage events", () => {
  it.each([
    [0, []],
    [1, [1]],
    [25, [25]],
    [26, [25, 1]],
    [51, [25, 25, 1]],
  ])("%i events → %j", (n, sizes) => {
    const items = Array.from({ length: n }, (_, i) => i);
    const out = batches(items);
    expect(out.map((b) => b.length)).toEqual(sizes);
    expect(out.flat()).toEqual(items);
    expect(Math.max(0, ...out.map((b) => b.length))).toBeLessThanOrEqual(MAX_EVENTS_PER_BATCH);
  });
  it("refuses a batch size that is not a positive integer", () => {
    expect(() => batches([1], 0)).toThrow(RangeError);
  });
});

/** Numbers, features and senders: recurring and one-time resource fees (rating-rules §4, §3.3, G8, G11). */
import { describe, expect, it } from "vitest";
import { canonicalOrder } from "../../../shared/core/rating/ordering.js";
import { rateResources } from "../../../shared/core/rating/rules/resources.js";
import type { Charge, LedgerEvent } from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { account, ev } from "../../support/events.js";
import { rateInEveryOrder } from "../../support/orders.js";

const p = (id: string, tz = "UTC") => periodWindow(id, tz);
const june = p("2025-06");
const july = p("2025-07");
const august = p("2025-08");
const iso = (t: number) => new Date(t).toISOString().replace(".000Z", "Z");

/** "product[k=v;…] xQ @pricedAt" (dimensions sorted by key, " xQ" only when Q ≠ 1). */
const fmt = (c: Charge) => {
  const d = Object.keys(c.dimensions)
    .sort()
    .map((k) => `${k}=${c.dimensions[k]}`)
    .join(";");
  const q = c.quantity.eq(1) ? "" : ` x${c.quantity.toFixed()}`;
  return `${c.product}${d ? `[${d}]` : ""}${q} @${iso(c.pricedAt)}`;
};
/** The period's charges, sorted (the rule's output order is not part of its contract). */
const run = (events: LedgerEvent[], period: PeriodWindow = july) => {
  const out = rateResources({
    account: account({ timezone: period.timezone }),
    period,
    // The engine hands every rule the account's history up to the period's end, in canonical order.
    events: canonicalOrder(events.filter((e) => e.t < period.end)),
  });
  expect(out.blocked ?? []).toEqual([]);
  return out.charges.map(fmt).sort();
};

type Data = Record<string, unknown>;
const on = (time: string, resourceId: string, resourceType: string, data: Data = {}) =>
  ev("resource.activated", time, { resourceId, resourceType, ...data });
const off = (time: string, resourceId: string, resourceType: string, data: Data = {}) =>
  ev("resource.deactivated", time, { resourceId, resourceType, ...data });

const LONG_TR = { numberType: "long", country: "TR" };
const numOn = (time: string, id = "n1", d: Data = LONG_TR) => on(time, id, "number", d);
const numOff = (time: string, id = "n1", d: Data = LONG_TR) => off(time, id, "number", d);
const trunk = (time: string, id: string, channels: number, plan = "metered", country = "US") =>
  on(time, id, "sip_trunk", { channels, plan, country });

const JUN1 = "@2025-06-01T00:00:00Z";
const JUL1 = "@2025-07-01T00:00:00Z";
const AUG1 = "@2025-08-01T00:00:00Z";
const SETUP_LONG_TR = (time: string) => `number.setup[country=TR;numberType=long] @${time}`;
const MONTHLY_LONG_TR = (at = JUL1) => `number.monthly[country=TR;numberType=long] ${at}`;

describe("rateResources: numbers (§4, G11)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§4 number.setup once, in the period of first activation, priced at activation; number.monthly at the period start",
      [numOn("2025-07-05T10:00:00Z")],
      [MONTHLY_LONG_TR(), SETUP_LONG_TR("2025-07-05T10:00:00Z")],
    ],
    [
      "§1.1 dimensions numberType and country (toll_free US)",
      [numOn("2025-07-05T10:00:00Z", "n2", { numberType: "toll_free", country: "US" })],
      [
        `number.monthly[country=US;numberType=toll_free] ${JUL1}`,
        "number.setup[country=US;numberType=toll_free] @2025-07-05T10:00:00Z",
      ],
    ],
    [
      "§4 one setup and one monthly per number",
      [numOn("2025-07-05T10:00:00Z", "n1"), numOn("2025-07-06T10:00:00Z", "n2")],
      [
        MONTHLY_LONG_TR(),
        MONTHLY_LONG_TR(),
        SETUP_LONG_TR("2025-07-05T10:00:00Z"),
        SETUP_LONG_TR("2025-07-06T10:00:00Z"),
      ],
    ],
    [
      "G11 a number activated in an earlier period: monthly only, no setup",
      [numOn("2025-06-20T10:00:00Z")],
      [MONTHLY_LONG_TR()],
    ],
    [
      "G11 setup once per resourceId ever: re-activation in a later period gives no second setup",
      [numOn("2025-06-10T10:00:00Z"), numOff("2025-06-20T10:00:00Z"), numOn("2025-07-10T10:00:00Z")],
      [MONTHLY_LONG_TR()],
    ],
    [
      "G11 activated, deactivated and re-activated in one period: one setup, one monthly",
      [
        numOn("2025-07-02T10:00:00Z"),
        numOff("2025-07-03T10:00:00Z"),
        numOn("2025-07-10T10:00:00Z"),
        numOff("2025-07-11T10:00:00Z"),
      ],
      [MONTHLY_LONG_TR(), SETUP_LONG_TR("2025-07-02T10:00:00Z")],
    ],
    [
      "G11 [activated, deactivated): deactivated exactly at the period start → not active in that period",
      [numOn("2025-06-10T10:00:00Z"), numOff("2025-07-01T00:00:00Z")],
      [],
    ],
    [
      "G11 deactivated 1 s after the period start → active at a moment of it, charged in full",
      [numOn("2025-06-10T10:00:00Z"), numOff("2025-07-01T00:00:01Z")],
      [MONTHLY_LONG_TR()],
    ],
    [
      "G11 activated at the last second of the period: one full monthly fee (no proration, policy)",
      [numOn("2025-07-31T23:59:59Z")],
      [MONTHLY_LONG_TR(), SETUP_LONG_TR("2025-07-31T23:59:59Z")],
    ],
    [
      "G11 deactivated in an earlier period: nothing",
      [numOn("2025-05-10T10:00:00Z"), numOff("2025-06-10T10:00:00Z")],
      [],
    ],
    ["G11 a deactivation of a resource never activated: nothing", [numOff("2025-07-10T10:00:00Z")], []],
  ])("%s", (_name, events, charges) => {
    expect(run(events)).toEqual(charges);
  });

  it("G11 a number activated in June: setup only in June, monthly in June and July", () => {
    const events = [numOn("2025-06-15T08:00:00Z")];
    expect(run(events, june)).toEqual([MONTHLY_LONG_TR(JUN1), SETUP_LONG_TR("2025-06-15T08:00:00Z")]);
    expect(run(events, july)).toEqual([MONTHLY_LONG_TR()]);
  });

  it("G11 activated in June and deactivated in August → charged in June, July and August, not September", () => {
    const events = [numOn("2025-06-15T08:00:00Z"), numOff("2025-08-05T08:00:00Z")];
    expect(run(events, june)).toEqual([MONTHLY_LONG_TR(JUN1), SETUP_LONG_TR("2025-06-15T08:00:00Z")]);
    expect(run(events, july)).toEqual([MONTHLY_LONG_TR()]);
    expect(run(events, august)).toEqual([MONTHLY_LONG_TR(AUG1)]);
    expect(run(events, p("2025-09"))).toEqual([]);
  });

  it("G3 the period boundary is the account's midnight (Europe/Istanbul): deactivated at 00:00 local", () => {
    // 2025-06-30T21:00:00Z is 1 July 00:00 in Istanbul.
    const events = [numOn("2025-06-10T10:00:00Z"), numOff("2025-06-30T21:00:00Z")];
    expect(run(events, p("2025-07", "Europe/Istanbul"))).toEqual([]);
    expect(run(events, p("2025-06", "Europe/Istanbul"))).toEqual([
      "number.monthly[country=TR;numberType=long] @2025-05-31T21:00:00Z",
      SETUP_LONG_TR("2025-06-10T10:00:00Z"),
    ]);
  });
});

describe("rateResources: senders and feature fees (§3.3, §4, G11)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§3.3 whatsapp.sender per registered sender, by hosting (cloud, hosted)",
      [
        on("2025-07-02T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "cloud" }),
        on("2025-06-02T10:00:00Z", "wa2", "whatsapp_sender", { hosting: "hosted" }),
        on("2025-07-03T10:00:00Z", "wa3", "whatsapp_sender", { hosting: "hosted" }),
      ],
      [
        `whatsapp.sender[hosting=cloud] ${JUL1}`,
        `whatsapp.sender[hosting=hosted] ${JUL1}`,
        `whatsapp.sender[hosting=hosted] ${JUL1}`,
      ],
    ],
    [
      "§3.3 G11 a sender deactivated exactly at the period start is not charged",
      [
        on("2025-06-02T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "cloud" }),
        off("2025-07-01T00:00:00Z", "wa1", "whatsapp_sender", { hosting: "cloud" }),
      ],
      [],
    ],
    [
      "§4 voice.cnam per number with the feature, no dimension, no setup",
      [
        on("2025-07-02T10:00:00Z", "cnam-1", "cnam", { numberResourceId: "n1" }),
        on("2025-06-02T10:00:00Z", "cnam-2", "cnam", { numberResourceId: "n2" }),
      ],
      [`voice.cnam ${JUL1}`, `voice.cnam ${JUL1}`],
    ],
    [
      "§4 voice.e911 per number with the feature",
      [on("2025-07-02T10:00:00Z", "e911-1", "e911", { numberResourceId: "n1" })],
      [`voice.e911 ${JUL1}`],
    ],
    [
      "§4 G11 voice.e911 active for a moment of the period: one full fee",
      [
        on("2025-06-02T10:00:00Z", "e911-1", "e911", { numberResourceId: "n1" }),
        off("2025-07-01T00:00:01Z", "e911-1", "e911", { numberResourceId: "n1" }),
      ],
      [`voice.e911 ${JUL1}`],
    ],
    [
      "§4 ip_address.monthly per IP address held",
      [on("2025-07-02T10:00:00Z", "ip-1", "ip_address"), on("2025-05-02T10:00:00Z", "ip-2", "ip_address")],
      [`ip_address.monthly ${JUL1}`, `ip_address.monthly ${JUL1}`],
    ],
    [
      "§4 byoc.setup once, in the period of activation, priced at activation; no monthly fee",
      [on("2025-07-02T10:00:00Z", "byoc-1", "byoc")],
      ["byoc.setup @2025-07-02T10:00:00Z"],
    ],
    [
      "§4 byoc activated in an earlier period: nothing more",
      [on("2025-06-02T10:00:00Z", "byoc-1", "byoc")],
      [],
    ],
    [
      "G11 byoc.setup once per resourceId ever: re-activation gives no second setup",
      [
        on("2025-06-02T10:00:00Z", "byoc-1", "byoc"),
        off("2025-06-20T10:00:00Z", "byoc-1", "byoc"),
        on("2025-07-02T10:00:00Z", "byoc-1", "byoc"),
      ],
      [],
    ],
  ])("%s", (_name, events, charges) => {
    expect(run(events)).toEqual(charges);
  });
});

const CH = (n: number, plan = "metered", country = "US", at = JUL1) =>
  `sip_trunk.channel[country=${country};plan=${plan}]${n === 1 ? "" : ` x${n}`} ${at}`;

describe("rateResources: sip_trunk.channel (§4 Σ of each trunk's peak channels)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§4 one trunk: its channel count, by plan and country",
      [trunk("2025-07-02T10:00:00Z", "t1", 10)],
      [CH(10)],
    ],
    [
      "§4 a later resource.activated with another count changes it: the peak counts, not the last",
      [
        trunk("2025-07-02T10:00:00Z", "t1", 10),
        trunk("2025-07-10T10:00:00Z", "t1", 30),
        trunk("2025-07-20T10:00:00Z", "t1", 5),
      ],
      [CH(30)],
    ],
    [
      "§4 a trunk raised from June's count in the period: the peak of the period",
      [trunk("2025-06-02T10:00:00Z", "t1", 8), trunk("2025-07-15T10:00:00Z", "t1", 12)],
      [CH(12)],
    ],
    [
      "§4 a count carried in from June counts from the period's first instant",
      [trunk("2025-06-02T10:00:00Z", "t1", 20), trunk("2025-07-15T10:00:00Z", "t1", 4)],
      [CH(20)],
    ],
    [
      "G11 [from, to): a count that ended exactly at the period start is not this period's peak",
      [trunk("2025-06-02T10:00:00Z", "t1", 30), trunk("2025-07-01T00:00:00Z", "t1", 10)],
      [CH(10)],
    ],
    [
      "§4 Σ over the account's trunks of each one's peak, grouped by plan and country",
      [
        trunk("2025-07-02T10:00:00Z", "t1", 10),
        trunk("2025-07-03T10:00:00Z", "t1", 6),
        trunk("2025-07-02T10:00:00Z", "t2", 4),
        trunk("2025-07-02T10:00:00Z", "t3", 8, "unlimited_us"),
        trunk("2025-07-02T10:00:00Z", "t4", 2, "metered", "GB"),
      ],
      [CH(2, "metered", "GB"), CH(14), CH(8, "unlimited_us")],
    ],
    [
      "§4 Σ of peaks, not the peak of the sum: trunks peaking at different times both count",
      [
        trunk("2025-07-02T10:00:00Z", "t1", 10),
        trunk("2025-07-05T10:00:00Z", "t1", 1),
        trunk("2025-07-06T10:00:00Z", "t2", 10),
      ],
      [CH(20)],
    ],
    [
      "G11 a trunk deactivated mid-period still counts with its peak",
      [
        trunk("2025-06-02T10:00:00Z", "t1", 6),
        off("2025-07-10T10:00:00Z", "t1", "sip_trunk", { channels: 6, plan: "metered", country: "US" }),
      ],
      [CH(6)],
    ],
    [
      "G11 a trunk deactivated in June does not count in July",
      [
        trunk("2025-06-02T10:00:00Z", "t1", 6),
        off("2025-06-10T10:00:00Z", "t1", "sip_trunk", { channels: 6, plan: "metered", country: "US" }),
        trunk("2025-07-02T10:00:00Z", "t2", 3),
      ],
      [CH(3)],
    ],
  ])("%s", (_name, events, charges) => {
    expect(run(events)).toEqual(charges);
  });

  it("§4 each period has its own peak: 30 in July, 5 in August after the July reduction", () => {
    const events = [
      trunk("2025-06-20T10:00:00Z", "t1", 10),
      trunk("2025-07-10T10:00:00Z", "t1", 30),
      trunk("2025-07-20T10:00:00Z", "t1", 5),
    ];
    expect(run(events, june)).toEqual([CH(10, "metered", "US", JUN1)]);
    expect(run(events, july)).toEqual([CH(30)]);
    expect(run(events, august)).toEqual([CH(5, "metered", "US", AUG1)]);
  });

  it("§4 no setup fee for a trunk, an IP address, CNAM or E911 (only numbers and BYOC have one)", () => {
    const events = [
      trunk("2025-07-02T10:00:00Z", "t1", 1),
      on("2025-07-02T10:00:00Z", "ip-1", "ip_address"),
      on("2025-07-02T10:00:00Z", "c1", "cnam", { numberResourceId: "n1" }),
      on("2025-07-02T10:00:00Z", "e1", "e911", { numberResourceId: "n1" }),
    ];
    expect(run(events)).toEqual([
      `ip_address.monthly ${JUL1}`,
      CH(1),
      `voice.cnam ${JUL1}`,
      `voice.e911 ${JUL1}`,
    ]);
  });
});

describe("rateResources: G6, G8", () => {
  it("G8 recurring fees are priced at the period's first instant, setups at their activation", () => {
    const charges = rateResources({
      account: account(),
      period: july,
      events: canonicalOrder([numOn("2025-07-20T10:00:00Z"), on("2025-07-21T10:00:00Z", "b1", "byoc")]),
    }).charges;
    expect(charges.map((c) => [c.product, iso(c.pricedAt), c.quantity.toFixed()]).sort()).toEqual([
      ["byoc.setup", "2025-07-21T10:00:00Z", "1"],
      ["number.monthly", "2025-07-01T00:00:00Z", "1"],
      ["number.setup", "2025-07-20T10:00:00Z", "1"],
    ]);
  });

  it("G6 the result depends only on the set of events: adversarial orders through ratePeriod", () => {
    const events = [
      numOn("2025-06-10T10:00:00Z"),
      numOff("2025-07-05T10:00:00Z"),
      numOn("2025-07-06T10:00:00Z", "n2", { numberType: "toll_free", country: "US" }),
      trunk("2025-07-02T10:00:00Z", "t1", 10),
      trunk("2025-07-10T10:00:00Z", "t1", 12),
      on("2025-07-02T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "hosted" }),
      // Same instant: the trunk drops to 8 channels as the sender goes and n2 comes back.
      trunk("2025-07-20T10:00:00Z", "t1", 8),
      off("2025-07-20T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "hosted" }),
      numOff("2025-07-20T10:00:00Z", "n2", { numberType: "toll_free", country: "US" }),
      numOn("2025-07-20T10:00:00Z", "n2", { numberType: "long", country: "US" }),
    ];
    expect(rateInEveryOrder(events)).toEqual([
      "one_time number.setup[country=US;numberType=toll_free] x1",
      "recurring number.monthly[country=TR;numberType=long] x1",
      "recurring number.monthly[country=US;numberType=long] x1",
      "recurring whatsapp.sender[hosting=hosted] x1",
      "recurring sip_trunk.channel[country=US;plan=metered] x12",
    ]);
  });
});

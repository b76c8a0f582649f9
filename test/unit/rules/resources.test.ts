/**
 * Numbers, features and senders: recurring and one-time resource fees (rating-rules §3.3 "Both
 * regimes", §4, G3, G6, G8, G11, G12). One suite (issue 13: resources.test.ts and
 * resources-edge-cases.test.ts merged, each case once).
 */
import { describe, expect, it } from "vitest";
import { rateResources } from "../../../shared/core/products/resources/rule.js";
import type { LedgerEvent } from "../../../shared/core/rating/types.js";
import { periodWindow } from "../../../shared/core/time.js";
import { type EventInput, ev } from "../../support/events.js";
import { rateInEveryOrder } from "../../support/orders.js";
import { august, iso, july, julyIst, june, rate, sortedCharges } from "./harness.js";

const run = (events: LedgerEvent[], period = july) => sortedCharges(rateResources, events, period);

type Resource = EventInput<"resource.activated">;
type Extra = Omit<Resource, "resourceId" | "resourceType">;
const on = (time: string, resourceId: string, resourceType: Resource["resourceType"], data: Extra = {}) =>
  ev("resource.activated", time, { resourceId, resourceType, ...data });
const off = (time: string, resourceId: string, resourceType: Resource["resourceType"], data: Extra = {}) =>
  ev("resource.deactivated", time, { resourceId, resourceType, ...data });

const LONG_TR = { numberType: "long", country: "TR" };
const numOn = (time: string, id = "n1", d: Extra = LONG_TR) => on(time, id, "number", d);
const numOff = (time: string, id = "n1", d: Extra = LONG_TR) => off(time, id, "number", d);
type Plan = "metered" | "unlimited_us";
const trunk = (time: string, id: string, channels: number, plan: Plan = "metered", country = "US") =>
  on(time, id, "sip_trunk", { channels, plan, country });
const trunkOff = (time: string, id: string, channels: number) =>
  off(time, id, "sip_trunk", { channels, plan: "metered", country: "US" });

const JUN1 = "@2025-06-01T00:00:00Z";
const JUL1 = "@2025-07-01T00:00:00Z";
const AUG1 = "@2025-08-01T00:00:00Z";
const MONTHLY = (at = JUL1, dims = "country=TR;numberType=long") => `number.monthly[${dims}] ${at}`;
const SETUP = (at: string, dims = "country=TR;numberType=long") => `number.setup[${dims}] @${at}`;

describe("rateResources: numbers (§4, G11)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§4 number.setup once, in the period of first activation, priced at activation; number.monthly at the period start",
      [numOn("2025-07-10T08:00:00Z")],
      [MONTHLY(), SETUP("2025-07-10T08:00:00Z")],
    ],
    [
      "§1.1 dimensions numberType and country from the activation (toll_free US)",
      [numOn("2025-07-10T08:00:00Z", "n2", { numberType: "toll_free", country: "US" })],
      [
        MONTHLY(JUL1, "country=US;numberType=toll_free"),
        SETUP("2025-07-10T08:00:00Z", "country=US;numberType=toll_free"),
      ],
    ],
    [
      "§4 one setup and one monthly per number",
      [numOn("2025-07-05T10:00:00Z", "n1"), numOn("2025-07-06T10:00:00Z", "n2")],
      [MONTHLY(), MONTHLY(), SETUP("2025-07-05T10:00:00Z"), SETUP("2025-07-06T10:00:00Z")],
    ],
    [
      "§4 one monthly fee per number: three numbers, two of them activated in earlier periods",
      [
        numOn("2025-07-02T10:00:00Z", "n1"),
        numOn("2025-06-02T10:00:00Z", "n2"),
        numOn("2025-05-02T10:00:00Z", "n3"),
      ],
      [MONTHLY(), MONTHLY(), MONTHLY(), SETUP("2025-07-02T10:00:00Z")],
    ],
    ["G11 activated in an earlier period: monthly only", [numOn("2025-05-10T08:00:00Z")], [MONTHLY()]],
    [
      "G11 setup once per resourceId ever: re-activation in a later period gives no second setup",
      [numOn("2025-06-10T10:00:00Z"), numOff("2025-06-20T10:00:00Z"), numOn("2025-07-10T10:00:00Z")],
      [MONTHLY()],
    ],
    [
      "G11 activated, deactivated and re-activated within the period: one setup, one monthly",
      [
        numOn("2025-07-02T10:00:00Z"),
        numOff("2025-07-03T10:00:00Z"),
        numOn("2025-07-10T10:00:00Z"),
        numOff("2025-07-11T10:00:00Z"),
      ],
      [MONTHLY(), SETUP("2025-07-02T10:00:00Z")],
    ],
    [
      "G11 G12 active on [activated, deactivated): deactivated exactly at the period start → no fee",
      [numOn("2025-06-10T10:00:00Z"), numOff("2025-07-01T00:00:00Z")],
      [],
    ],
    [
      "G11 active at one moment of the period (deactivated 1 ms after its start): one full fee, no proration",
      [numOn("2025-06-10T10:00:00Z"), numOff("2025-07-01T00:00:00.001Z")],
      [MONTHLY()],
    ],
    [
      "G11 activated at the period's last second: one full monthly fee (no proration, policy) and the setup",
      [numOn("2025-07-31T23:59:59Z")],
      [MONTHLY(), SETUP("2025-07-31T23:59:59Z")],
    ],
    [
      "G11 (policy) activated and deactivated at the same instant: the setup is charged, never active so no monthly",
      [numOn("2025-07-05T10:00:00Z", "n1"), numOff("2025-07-05T10:00:00Z", "n1")],
      [SETUP("2025-07-05T10:00:00Z")],
    ],
    [
      "G11 deactivated in an earlier period: nothing",
      [numOn("2025-05-10T10:00:00Z"), numOff("2025-06-10T10:00:00Z")],
      [],
    ],
    ["G11 a deactivation of a resource never activated: nothing", [numOff("2025-07-10T10:00:00Z")], []],
    [
      "§4 (policy) attributes changed within the period: the latest name the monthly fee, the first the setup",
      [
        numOn("2025-07-02T10:00:00Z", "n1"),
        numOn("2025-07-05T10:00:00Z", "n1", { numberType: "voice", country: "TR" }),
      ],
      [MONTHLY(JUL1, "country=TR;numberType=voice"), SETUP("2025-07-02T10:00:00Z")],
    ],
  ])("%s", (_name, events, expected) => {
    expect(run(events)).toEqual(expected);
  });

  it("G11 activated in June, deactivated in August: setup in June; monthly in June, July, August only", () => {
    const events = [numOn("2025-06-15T08:00:00Z"), numOff("2025-08-05T08:00:00Z")];
    expect(run(events, june)).toEqual([MONTHLY(JUN1), SETUP("2025-06-15T08:00:00Z")]);
    expect(run(events, july)).toEqual([MONTHLY()]);
    expect(run(events, august)).toEqual([MONTHLY(AUG1)]);
    expect(run(events, periodWindow("2025-09", "UTC"))).toEqual([]);
  });

  it("G3 the period boundary is the account's midnight (Europe/Istanbul, UTC+3)", () => {
    const juneIst = periodWindow("2025-06", "Europe/Istanbul");
    // Deactivated at 2025-06-30T21:00Z = 1 July 00:00 in Istanbul: no moment of July there.
    const atMidnight = [numOn("2025-06-10T10:00:00Z"), numOff("2025-06-30T21:00:00Z")];
    expect(run(atMidnight, julyIst)).toEqual([]);
    expect(run(atMidnight, juneIst)).toEqual([
      MONTHLY("@2025-05-31T21:00:00Z"),
      SETUP("2025-06-10T10:00:00Z"),
    ]);
    // Deactivated at 2025-06-30T22:00Z = 1 July 01:00 in Istanbul: active at a moment of July there.
    const events = [numOn("2025-06-10T10:00:00Z"), numOff("2025-06-30T22:00:00Z")];
    expect(run(events, julyIst)).toEqual([MONTHLY("@2025-06-30T21:00:00Z")]);
    expect(run(events, july)).toEqual([]);
    // Activated at 2025-06-30T21:30Z = 1 July 00:30 in Istanbul: the setup belongs to July there.
    const late = [numOn("2025-06-30T21:30:00Z", "n9")];
    expect(run(late, julyIst)).toEqual([MONTHLY("@2025-06-30T21:00:00Z"), SETUP("2025-06-30T21:30:00Z")]);
    expect(run(late, juneIst)).toEqual([]);
  });
});

describe("rateResources: WhatsApp senders, CNAM, E911, IP addresses, BYOC (§3.3, §4, G11)", () => {
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
      "§3.3 G11 one fee per sender per period, even when re-registered within it (policy: latest hosting)",
      [
        on("2025-07-02T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "hosted" }),
        off("2025-07-03T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "hosted" }),
        on("2025-07-04T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "cloud" }),
      ],
      [`whatsapp.sender[hosting=cloud] ${JUL1}`],
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
      "§4 (policy) two CNAM resources on one number in one period: one fee (per number)",
      [
        on("2025-06-02T10:00:00Z", "cnam-1", "cnam", { numberResourceId: "n1" }),
        off("2025-07-03T10:00:00Z", "cnam-1", "cnam", { numberResourceId: "n1" }),
        on("2025-07-20T10:00:00Z", "cnam-2", "cnam", { numberResourceId: "n1" }),
      ],
      [`voice.cnam ${JUL1}`],
    ],
    [
      "§4 voice.e911 per number with the feature; G11 a moment of the period (1 s) is enough for one full fee",
      [
        on("2025-07-02T10:00:00Z", "e911-1", "e911", { numberResourceId: "n1" }),
        on("2025-06-02T10:00:00Z", "e911-2", "e911", { numberResourceId: "n2" }),
        off("2025-07-01T00:00:01Z", "e911-2", "e911", { numberResourceId: "n2" }),
        on("2025-05-02T10:00:00Z", "e911-3", "e911", { numberResourceId: "n3" }),
        off("2025-06-02T10:00:00Z", "e911-3", "e911", { numberResourceId: "n3" }),
      ],
      [`voice.e911 ${JUL1}`, `voice.e911 ${JUL1}`],
    ],
    [
      "§4 ip_address.monthly per IP address held",
      [on("2025-07-02T10:00:00Z", "ip-1", "ip_address"), on("2025-05-02T10:00:00Z", "ip-2", "ip_address")],
      [`ip_address.monthly ${JUL1}`, `ip_address.monthly ${JUL1}`],
    ],
    [
      "§4 byoc.setup once, in the period of activation, priced at activation; none for an earlier one, no recurring fee",
      [on("2025-07-02T10:00:00Z", "byoc-1", "byoc"), on("2025-06-02T10:00:00Z", "byoc-2", "byoc")],
      ["byoc.setup @2025-07-02T10:00:00Z"],
    ],
    [
      "G11 byoc.setup once per resourceId ever: a re-activation is not charged again",
      [
        on("2025-06-02T10:00:00Z", "byoc-1", "byoc"),
        off("2025-06-10T10:00:00Z", "byoc-1", "byoc"),
        on("2025-07-02T10:00:00Z", "byoc-1", "byoc"),
      ],
      [],
    ],
  ])("%s", (_name, events, expected) => {
    expect(run(events)).toEqual(expected);
  });
});

const CH = (n: number, plan: Plan = "metered", country = "US", at = JUL1) =>
  `sip_trunk.channel[country=${country};plan=${plan}]${n === 1 ? "" : ` x${n}`} ${at}`;

describe("rateResources: sip_trunk.channel (§4 Σ of each trunk's peak channel count)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§4 one trunk: its channel count, by plan and country",
      [trunk("2025-07-02T10:00:00Z", "t1", 10)],
      [CH(10)],
    ],
    [
      "§4 channel count raised then lowered within the period: its peak counts, not the last, no proration",
      [
        trunk("2025-06-02T10:00:00Z", "t1", 10),
        trunk("2025-07-10T10:00:00Z", "t1", 20),
        trunk("2025-07-20T10:00:00Z", "t1", 5),
      ],
      [CH(20)],
    ],
    [
      "§4 a count reached in June and lowered during July counts in July (it held at a moment of July)",
      [trunk("2025-06-02T10:00:00Z", "t1", 30), trunk("2025-07-03T10:00:00Z", "t1", 10)],
      [CH(30)],
    ],
    [
      "§4 G12 [from, to): a count changed exactly at the period start: the earlier count held no moment of it",
      [trunk("2025-06-02T10:00:00Z", "t1", 30), trunk("2025-07-01T00:00:00Z", "t1", 10)],
      [CH(10)],
    ],
    [
      "§4 Σ over trunks of each trunk's peak, not the peak of the sum",
      [
        trunk("2025-07-01T10:00:00Z", "t1", 10),
        trunk("2025-07-15T10:00:00Z", "t1", 2),
        trunk("2025-07-01T10:00:00Z", "t2", 2),
        trunk("2025-07-15T10:00:00Z", "t2", 10),
      ],
      [CH(20)],
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
      "G11 a trunk deactivated in the period still counts its peak; one deactivated before it does not",
      [
        trunk("2025-06-02T10:00:00Z", "t1", 8),
        trunkOff("2025-07-02T10:00:00Z", "t1", 8),
        trunk("2025-05-02T10:00:00Z", "t2", 50),
        trunkOff("2025-06-02T10:00:00Z", "t2", 50),
      ],
      [CH(8)],
    ],
    [
      "§4 (policy) a trunk whose plan changed: the plan of the stretch at its peak names the charge",
      [
        trunk("2025-06-02T10:00:00Z", "t1", 10),
        trunk("2025-07-10T10:00:00Z", "t1", 12, "unlimited_us", "US"),
      ],
      [CH(12, "unlimited_us")],
    ],
    [
      "§4 (policy) equal peaks under two plans: the latest stretch names the charge, counted once",
      [
        trunk("2025-06-02T10:00:00Z", "t1", 10),
        trunk("2025-07-10T10:00:00Z", "t1", 10, "unlimited_us", "US"),
      ],
      [CH(10, "unlimited_us")],
    ],
  ])("%s", (_name, events, expected) => {
    expect(run(events)).toEqual(expected);
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

describe("rateResources: G8, G6", () => {
  it("G8 recurring fees are priced at the period's first instant, setups at their activation", () => {
    const { charges } = rate(rateResources, [
      numOn("2025-07-20T10:00:00Z"),
      on("2025-07-21T10:00:00Z", "b1", "byoc"),
    ]);
    expect(charges.map((c) => [c.product, iso(c.pricedAt), c.quantity.toFixed()]).sort()).toEqual([
      ["byoc.setup", "2025-07-21T10:00:00Z", "1"],
      ["number.monthly", "2025-07-01T00:00:00Z", "1"],
      ["number.setup", "2025-07-20T10:00:00Z", "1"],
    ]);
  });

  it.each<[string, LedgerEvent[], string[]]>([
    [
      "a number deactivated and reactivated with other attributes at one instant",
      [
        numOn("2025-06-02T10:00:00Z", "n1"),
        numOn("2025-07-02T10:00:00Z", "n2"),
        numOff("2025-07-05T10:00:00Z", "n2"),
        trunk("2025-07-02T10:00:00Z", "t1", 10),
        trunk("2025-07-09T10:00:00Z", "t1", 15),
        trunk("2025-07-20T10:00:00Z", "t1", 12),
        on("2025-07-03T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "cloud" }),
        on("2025-07-03T10:00:00Z", "byoc-1", "byoc"),
        on("2025-07-03T10:00:00Z", "cnam-1", "cnam", { numberResourceId: "n1" }),
        on("2025-07-03T10:00:00Z", "ip-1", "ip_address"),
        numOff("2025-07-10T10:00:00Z", "n1"),
        numOn("2025-07-10T10:00:00Z", "n1", { numberType: "toll_free", country: "TR" }),
      ],
      [
        "one_time number.setup[country=TR;numberType=long] x1",
        "one_time byoc.setup x1",
        "recurring voice.cnam x1",
        "recurring ip_address.monthly x1",
        "recurring number.monthly[country=TR;numberType=toll_free] x1",
        "recurring number.monthly[country=TR;numberType=long] x1",
        "recurring whatsapp.sender[hosting=cloud] x1",
        "recurring sip_trunk.channel[country=US;plan=metered] x15",
      ],
    ],
    [
      "a trunk drops to 8 channels as a sender goes and a number comes back, all at one instant",
      [
        numOn("2025-06-10T10:00:00Z"),
        numOff("2025-07-05T10:00:00Z"),
        numOn("2025-07-06T10:00:00Z", "n2", { numberType: "toll_free", country: "US" }),
        trunk("2025-07-02T10:00:00Z", "t1", 10),
        trunk("2025-07-10T10:00:00Z", "t1", 12),
        on("2025-07-02T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "hosted" }),
        trunk("2025-07-20T10:00:00Z", "t1", 8),
        off("2025-07-20T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "hosted" }),
        numOff("2025-07-20T10:00:00Z", "n2", { numberType: "toll_free", country: "US" }),
        numOn("2025-07-20T10:00:00Z", "n2", { numberType: "long", country: "US" }),
      ],
      [
        "one_time number.setup[country=US;numberType=toll_free] x1",
        "recurring number.monthly[country=TR;numberType=long] x1",
        "recurring number.monthly[country=US;numberType=long] x1",
        "recurring whatsapp.sender[hosting=hosted] x1",
        "recurring sip_trunk.channel[country=US;plan=metered] x12",
      ],
    ],
  ])(
    "G6 the lines depend only on the set of events: %s, in adversarial orders through ratePeriod",
    (_n, events, lines) => {
      expect(rateInEveryOrder(events)).toEqual(lines);
    },
  );
});

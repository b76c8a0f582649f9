/** Numbers, features and sender fees (rating-rules §3.3 "Both regimes", §4, G3, G6, G11, G12). */
import { describe, expect, it } from "vitest";
import { accountSchema } from "../../../shared/contract/accounts.js";
import { canonicalOrder } from "../../../shared/core/rating/ordering.js";
import { rateResources } from "../../../shared/core/rating/rules/resources.js";
import type { Charge, LedgerEvent } from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { ev } from "../../support/events.js";
import { rateInEveryOrder } from "../../support/orders.js";

const july = periodWindow("2025-07", "UTC");
const june = periodWindow("2025-06", "UTC");
const august = periodWindow("2025-08", "UTC");

const on = (time: string, resourceId: string, resourceType: string, extra: Record<string, unknown> = {}) =>
  ev("resource.activated", time, { resourceId, resourceType, ...extra });
const off = (time: string, resourceId: string, resourceType: string, extra: Record<string, unknown> = {}) =>
  ev("resource.deactivated", time, { resourceId, resourceType, ...extra });

const LONG_TR = { numberType: "long", country: "TR" };
const numOn = (time: string, id = "n1", attrs: Record<string, unknown> = LONG_TR) =>
  on(time, id, "number", attrs);
const numOff = (time: string, id = "n1") => off(time, id, "number", LONG_TR);
const trunk = (time: string, id: string, channels: number, plan = "metered", country = "US") =>
  on(time, id, "sip_trunk", { channels, plan, country });

const iso = (t: number) => new Date(t).toISOString().replace(".000Z", "Z");
/** "product[k=v;…] xQ @pricedAt", dimensions sorted by key; the list sorted for comparison. */
const fmt = (c: Charge) => {
  const d = Object.keys(c.dimensions)
    .sort()
    .map((k) => `${k}=${c.dimensions[k]}`)
    .join(";");
  return `${c.product}${d ? `[${d}]` : ""} x${c.quantity.toFixed()} @${iso(c.pricedAt)}`;
};
function run(events: LedgerEvent[], period: PeriodWindow = july): string[] {
  const account = accountSchema.parse({
    accountId: "acme",
    name: "Acme",
    currency: "EUR",
    tariffId: "t1",
    timezone: period.timezone,
  });
  const out = rateResources({
    account,
    period,
    events: canonicalOrder(events.filter((e) => e.t < period.end)),
  });
  expect(out.blocked ?? []).toEqual([]);
  expect(out.suspense ?? []).toEqual([]);
  return out.charges.map(fmt).sort();
}

const JUL1 = "@2025-07-01T00:00:00Z";
const MONTHLY = (at = JUL1, dims = "country=TR;numberType=long") => `number.monthly[${dims}] x1 ${at}`;
const SETUP = (at: string, dims = "country=TR;numberType=long") => `number.setup[${dims}] x1 @${at}`;

describe("rateResources: numbers (§4, G11)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§4 number.setup in the period of provisioning, priced at activation; number.monthly priced at the period start",
      [numOn("2025-07-10T08:00:00Z")],
      [MONTHLY(), SETUP("2025-07-10T08:00:00Z")],
    ],
    [
      "§4 dimensions numberType and country from the activation",
      [numOn("2025-07-10T08:00:00Z", "n2", { numberType: "toll_free", country: "US" })],
      [
        MONTHLY(JUL1, "country=US;numberType=toll_free"),
        SETUP("2025-07-10T08:00:00Z", "country=US;numberType=toll_free"),
      ],
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
      "G11 activated at the period's last second: one full monthly fee and the setup",
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
      "§4 one monthly fee per number: three numbers",
      [
        numOn("2025-07-02T10:00:00Z", "n1"),
        numOn("2025-06-02T10:00:00Z", "n2"),
        numOn("2025-05-02T10:00:00Z", "n3"),
      ],
      [MONTHLY(), MONTHLY(), MONTHLY(), SETUP("2025-07-02T10:00:00Z")],
    ],
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
    expect(run(events, june)).toEqual([MONTHLY("@2025-06-01T00:00:00Z"), SETUP("2025-06-15T08:00:00Z")]);
    expect(run(events, july)).toEqual([MONTHLY()]);
    expect(run(events, august)).toEqual([MONTHLY("@2025-08-01T00:00:00Z")]);
    expect(run(events, periodWindow("2025-09", "UTC"))).toEqual([]);
  });

  it("G3 the period boundary is the account's midnight (Europe/Istanbul, UTC+3)", () => {
    // Deactivated at 2025-06-30T22:00Z = 1 July 01:00 in Istanbul: active at a moment of July there.
    const events = [numOn("2025-06-10T10:00:00Z"), numOff("2025-06-30T22:00:00Z")];
    expect(run(events, periodWindow("2025-07", "Europe/Istanbul"))).toEqual([
      MONTHLY("@2025-06-30T21:00:00Z"),
    ]);
    expect(run(events, july)).toEqual([]);
    // Activated at 2025-06-30T21:30Z = 1 July 00:30 in Istanbul: the setup belongs to July there.
    const late = [numOn("2025-06-30T21:30:00Z", "n9")];
    expect(run(late, periodWindow("2025-07", "Europe/Istanbul"))).toEqual([
      MONTHLY("@2025-06-30T21:00:00Z"),
      SETUP("2025-06-30T21:30:00Z"),
    ]);
    expect(run(late, periodWindow("2025-06", "Europe/Istanbul"))).toEqual([]);
  });
});

describe("rateResources: WhatsApp senders, CNAM, E911, IP addresses, BYOC (§3.3, §4, G11)", () => {
  it.each<[string, LedgerEvent[], string[]]>([
    [
      "§3.3 whatsapp.sender per registered sender, by hosting",
      [
        on("2025-07-02T10:00:00Z", "wa1", "whatsapp_sender", { hosting: "cloud" }),
        on("2025-06-02T10:00:00Z", "wa2", "whatsapp_sender", { hosting: "hosted" }),
        on("2025-07-03T10:00:00Z", "wa3", "whatsapp_sender", { hosting: "hosted" }),
      ],
      [
        `whatsapp.sender[hosting=cloud] x1 ${JUL1}`,
        `whatsapp.sender[hosting=hosted] x1 ${JUL1}`,
        `whatsapp.sender[hosting=hosted] x1 ${JUL1}`,
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
      [`whatsapp.sender[hosting=cloud] x1 ${JUL1}`],
    ],
    [
      "§4 voice.cnam per number with the feature, no dimension, no setup",
      [
        on("2025-07-02T10:00:00Z", "cnam-1", "cnam", { numberResourceId: "n1" }),
        on("2025-06-02T10:00:00Z", "cnam-2", "cnam", { numberResourceId: "n2" }),
      ],
      [`voice.cnam x1 ${JUL1}`, `voice.cnam x1 ${JUL1}`],
    ],
    [
      "§4 (policy) two CNAM resources on one number in one period: one fee (per number)",
      [
        on("2025-06-02T10:00:00Z", "cnam-1", "cnam", { numberResourceId: "n1" }),
        off("2025-07-03T10:00:00Z", "cnam-1", "cnam", { numberResourceId: "n1" }),
        on("2025-07-20T10:00:00Z", "cnam-2", "cnam", { numberResourceId: "n1" }),
      ],
      [`voice.cnam x1 ${JUL1}`],
    ],
    [
      "§4 voice.e911 per number with the feature; G11 a moment of the period is enough",
      [
        on("2025-07-02T10:00:00Z", "e911-1", "e911", { numberResourceId: "n1" }),
        on("2025-06-02T10:00:00Z", "e911-2", "e911", { numberResourceId: "n2" }),
        off("2025-07-01T00:00:01Z", "e911-2", "e911", { numberResourceId: "n2" }),
        on("2025-05-02T10:00:00Z", "e911-3", "e911", { numberResourceId: "n3" }),
        off("2025-06-02T10:00:00Z", "e911-3", "e911", { numberResourceId: "n3" }),
      ],
      [`voice.e911 x1 ${JUL1}`, `voice.e911 x1 ${JUL1}`],
    ],
    [
      "§4 ip_address.monthly per IP address held",
      [on("2025-07-02T10:00:00Z", "ip-1", "ip_address"), on("2025-05-02T10:00:00Z", "ip-2", "ip_address")],
      [`ip_address.monthly x1 ${JUL1}`, `ip_address.monthly x1 ${JUL1}`],
    ],
    [
      "§4 byoc.setup once, in the period of activation, priced at activation; no recurring fee",
      [on("2025-07-02T10:00:00Z", "byoc-1", "byoc"), on("2025-06-02T10:00:00Z", "byoc-2", "byoc")],
      ["byoc.setup x1 @2025-07-02T10:00:00Z"],
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

describe("rateResources: sip_trunk.channel (§4 Σ of each trunk's peak channel count)", () => {
  const CH = (n: number, dims = "country=US;plan=metered") => `sip_trunk.channel[${dims}] x${n} ${JUL1}`;
  it.each<[string, LedgerEvent[], string[]]>([
    ["§4 one trunk, one channel count", [trunk("2025-07-02T10:00:00Z", "t1", 10)], [CH(10)]],
    [
      "§4 channel count raised then lowered within the period: its peak counts, no proration",
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
      "§4 G12 a count changed exactly at the period start: the earlier count held no moment of it",
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
      "§4 grouped by plan and country",
      [
        trunk("2025-07-02T10:00:00Z", "t1", 10),
        trunk("2025-07-02T10:00:00Z", "t2", 4, "unlimited_us", "US"),
        trunk("2025-07-02T10:00:00Z", "t3", 6, "unlimited_us", "US"),
        trunk("2025-07-02T10:00:00Z", "t4", 3, "metered", "GB"),
      ],
      [CH(3, "country=GB;plan=metered"), CH(10), CH(10, "country=US;plan=unlimited_us")],
    ],
    [
      "G11 a trunk deactivated in the period still counts its peak; one deactivated before it does not",
      [
        trunk("2025-06-02T10:00:00Z", "t1", 8),
        off("2025-07-02T10:00:00Z", "t1", "sip_trunk"),
        trunk("2025-05-02T10:00:00Z", "t2", 50),
        off("2025-06-02T10:00:00Z", "t2", "sip_trunk"),
      ],
      [CH(8)],
    ],
    [
      "§4 (policy) a trunk whose plan changed: the plan of the stretch at its peak names the charge",
      [
        trunk("2025-06-02T10:00:00Z", "t1", 10),
        trunk("2025-07-10T10:00:00Z", "t1", 12, "unlimited_us", "US"),
      ],
      [CH(12, "country=US;plan=unlimited_us")],
    ],
    [
      "§4 (policy) equal peaks under two plans: the latest stretch names the charge, counted once",
      [
        trunk("2025-06-02T10:00:00Z", "t1", 10),
        trunk("2025-07-10T10:00:00Z", "t1", 10, "unlimited_us", "US"),
      ],
      [CH(10, "country=US;plan=unlimited_us")],
    ],
  ])("%s", (_name, events, expected) => {
    expect(run(events)).toEqual(expected);
  });
});

describe("G6 the charges do not depend on arrival order", () => {
  it("a mixed resource history in adversarial orders through ratePeriod gives the same lines", () => {
    const history = [
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
      // Same instant: a number deactivated and reactivated (another plan) at 10:00 on 10 July.
      numOff("2025-07-10T10:00:00Z", "n1"),
      numOn("2025-07-10T10:00:00Z", "n1", { numberType: "toll_free", country: "TR" }),
    ];
    expect(rateInEveryOrder(history)).toEqual([
      "one_time number.setup[country=TR;numberType=long] x1",
      "one_time byoc.setup x1",
      "recurring voice.cnam x1",
      "recurring ip_address.monthly x1",
      "recurring number.monthly[country=TR;numberType=toll_free] x1",
      "recurring number.monthly[country=TR;numberType=long] x1",
      "recurring whatsapp.sender[hosting=cloud] x1",
      "recurring sip_trunk.channel[country=US;plan=metered] x15",
    ]);
  });
});

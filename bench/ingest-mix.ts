import { parseAccounts } from "../shared/core/config.js";
import { DAY, MINUTE } from "../shared/core/time.js";
import { stdTariffs } from "../test/support/events.js";

// ---- configuration: every rule family, 12 accounts, acct-00 sends more than half ----
const rates = [
  ["sms.mt", "0.012"],
  ["sms.mo", "0.005"],
  ["mms.mt", "0.05"],
  ["rcs.mt", "0.03"],
  ["number_lookup.request", "0.004"],
  ["email.message", "0.0008"],
  ["ussd.session", "0.02"],
  ["messenger.active_user", "0.1"],
  ["viber.message", "0.0125"],
  ["viber.session", "0.1"],
  ["viber_bot.message", "0.004"],
  ["whatsapp.template", "0.05"],
  ["whatsapp.freeform", "0.005"],
  ["voice.minute", "0.011"],
  ["voice.conference_participant", "0.004"],
  ["recording.video_export", "0.02"],
  ["genai.interaction", "0.002"],
  ["number.monthly", "1.00"],
  ["number.setup", "1.00"],
].map(([product, unitPrice]) => ({ product, unitPrice }));
// Packages: product, included quantity, monthly fee, overage unit price.
const packages = (
  [
    ["moments.engaged_people", 100, "200.00", "0.15"],
    ["answers.active_sessions", 100, "50.00", "0.2"],
    ["conversations.active_conversations", 100, "10.00", "0.5"],
  ] as const
).map(([product, includedQuantity, fee, overageUnitPrice]) => ({
  product,
  includedQuantity,
  fee,
  overageUnitPrice,
}));
export const tariffs = stdTariffs(rates, { packages });
const ACCOUNTS = 12;
export const accounts = parseAccounts(
  Array.from({ length: ACCOUNTS }, (_, i) => ({
    accountId: `acct-${String(i).padStart(2, "0")}`,
    name: `Account ${i}`,
    currency: "EUR",
    tariffId: "std",
  })),
  tariffs,
);
export const DOMINANT = "acct-00";

// ---- the realistic customer base (issue 23): many accounts, a long tail, country × network ----
export const COUNTRIES_50 = (
  "TR DE FR GB US IT ES NL BE AT CH SE NO DK FI PL CZ HU RO BG GR PT IE BR MX IN ID NG ZA EG " +
  "AR CL CO PE SA AE IL PK BD VN TH MY PH SG JP KR AU NZ CA KE"
).split(" ");
export const NETWORKS = ["net-a", "net-b", "net-c", "net-d"];
/** Per-message products priced by country × network in the realistic tariff. */
const BY_NETWORK = ["sms.mt", "sms.mo", "mms.mt", "rcs.mt"];
export const realisticTariffs = stdTariffs(
  [
    ...BY_NETWORK.flatMap((product, p) =>
      COUNTRIES_50.flatMap((country, c) =>
        NETWORKS.map((network, n) => ({
          product,
          match: { country, network },
          unitPrice: (0.004 + p / 100 + c / 10_000 + n / 100_000).toFixed(5),
        })),
      ),
    ),
    ...rates.filter((r) => !BY_NETWORK.includes(r.product as string)),
  ],
  { packages, tariffId: "real" },
);
export const realisticAccountId = (rank: number) => `cust-${String(rank).padStart(5, "0")}`;
export const realisticAccounts = (count: number) =>
  parseAccounts(
    Array.from({ length: count }, (_, i) => ({
      accountId: realisticAccountId(i),
      name: `Customer ${i}`,
      currency: "EUR",
      tariffId: "real",
    })),
    realisticTariffs,
  );

/** Account ranks drawn with P(rank k) ∝ 1 / (k + 1)^s (Zipf): a few large senders, a long tail. */
export function zipfPicker(n: number, s: number) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** s;
    cdf[k] = sum;
  }
  return (u: number) => {
    const x = u * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface Mix {
  readonly account: (r: () => number) => string;
  readonly countries: readonly string[];
  readonly networks?: readonly string[];
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JULY = Date.parse("2025-07-01T00:00:00Z");
/** Today's mix: 12 accounts, acct-00 above half, 6 countries, no network. */
const TODAY: Mix = {
  account: (r) =>
    r() < 0.55 ? DOMINANT : `acct-${String(1 + Math.floor(r() * (ACCOUNTS - 1))).padStart(2, "0")}`,
  countries: ["TR", "DE", "US", "GB", "FR", "BR"],
};

/** A CPaaS mix: mostly per-message traffic, every rule family present. */
export function makeEvents(
  prefix: string,
  n: number,
  seed: number,
  mix: Mix = TODAY,
): { body: string; account: string }[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const countries = mix.countries;
  /** Country (and network, when the mix prices by network) of a per-message event. */
  const where = () => ({
    country: pick(countries),
    ...(mix.networks ? { network: pick(mix.networks) } : {}),
  });
  return Array.from({ length: n }, (_, i) => {
    const account = mix.account(r);
    const time = new Date(JULY + Math.floor((i / n) * 30 * DAY) + Math.floor(r() * MINUTE)).toISOString();
    const u = `u${Math.floor(r() * 5000)}`;
    const x = r();
    let type: string;
    let data: Record<string, unknown>;
    if (x < 0.5)
      [type, data] = ["sms.mt", { to: u, ...where(), status: r() < 0.95 ? "submitted" : "rejected" }];
    else if (x < 0.55) [type, data] = ["sms.mo", { from: u, ...where(), status: "accepted" }];
    else if (x < 0.58) [type, data] = ["mms.mt", { to: u, ...where(), status: "submitted" }];
    else if (x < 0.6) [type, data] = ["rcs.mt", { to: u, ...where(), status: "submitted", delivered: true }];
    else if (x < 0.63) [type, data] = ["email.message", { to: `${u}@x.test`, status: "submitted" }];
    else if (x < 0.65)
      [type, data] = ["number_lookup.request", { msisdn: u, country: pick(countries), status: "sent" }];
    else if (x < 0.73)
      [type, data] = [
        "whatsapp.message",
        {
          endUserId: u,
          senderId: "wa1",
          kind: "template",
          category: pick(["marketing", "utility"]),
          delivered: true,
        },
      ];
    else if (x < 0.75) [type, data] = ["whatsapp.inbound", { endUserId: u, senderId: "wa1" }];
    else if (x < 0.77) [type, data] = ["viber.inbound", { endUserId: u, serviceId: "svc1" }];
    else if (x < 0.79)
      [type, data] = [
        "viber.message",
        { endUserId: u, serviceId: "svc1", messageType: pick(["session", "promotional"]), delivered: true },
      ];
    else if (x < 0.8) [type, data] = ["viber_bot.message", { endUserId: u, botId: "b1", delivered: true }];
    else if (x < 0.85)
      [type, data] = [
        "voice.call",
        {
          callId: `${prefix}c${i}`,
          service: "calls",
          direction: "outbound",
          country: pick(countries),
          answered: r() < 0.8,
          durationSeconds: Math.floor(r() * 600),
        },
      ];
    else if (x < 0.88)
      [type, data] = [
        "genai.interaction",
        { feature: "summary", model: "m1", units: 1 + Math.floor(r() * 4) },
      ];
    else if (x < 0.9) [type, data] = ["messenger.message", { endUserId: u, delivered: true }];
    else if (x < 0.92)
      [type, data] = [
        "conversations.message",
        { conversationId: `k${Math.floor(r() * 500)}`, direction: "inbound" },
      ];
    else if (x < 0.93) [type, data] = ["moments.flow_entered", { endUserId: u, flowId: "f1" }];
    else if (x < 0.95)
      [type, data] = [
        "answers.message",
        { botId: "b1", endUserId: u, direction: pick(["inbound", "outbound"]) },
      ];
    else if (x < 0.96)
      [type, data] = ["ussd.session", { sessionId: `${prefix}s${i}`, country: "TR", initiatedBy: "account" }];
    else if (x < 0.97) [type, data] = ["recording.exported", { recordingId: `${prefix}r${i}` }];
    else if (x < 0.975)
      [type, data] = [
        "voice.conference",
        {
          conferenceId: `${prefix}k${i}`,
          participants: ["a", "b", "c"].map((p) => ({
            participantId: p,
            joinedAt: time,
            leftAt: new Date(Date.parse(time) + 120_000).toISOString(),
          })),
        },
      ];
    else if (x < 0.976)
      [type, data] = [
        "resource.activated",
        { resourceId: `${prefix}n${i}`, resourceType: "number", numberType: "long", country: "US" },
      ];
    else [type, data] = ["sms.mt", { to: u, country: "TR", status: "submitted" }];
    const body = JSON.stringify({
      specversion: "1.0",
      id: `${prefix}-${i}`,
      source: "/bench",
      type,
      subject: account,
      time,
      data,
    });
    return { body, account };
  });
}

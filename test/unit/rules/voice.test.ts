/** Voice and video calls (rating-rules §5, G13, G11, G12) and the SIP trunk compliance figures. */
import { describe, expect, it } from "vitest";
import type { AccountInput } from "../../../shared/contract/accounts.js";
import { conferenceExposure, rateVoice } from "../../../shared/core/products/voice/rule.js";
import type { LedgerEvent } from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { type EventInput, ev } from "../../support/events.js";
import { july, outputText, rate } from "./harness.js";

const T = "2025-07-02T09:00:00Z";

const run = (events: LedgerEvent[], period: PeriodWindow = july, over: Partial<AccountInput> = {}) => {
  const out = rate(rateVoice, events, period, over);
  const { charges, suspense, compliance } = outputText(out, { at: false });
  return {
    charges,
    pricedAt: out.charges.map((c) => new Date(c.pricedAt).toISOString()),
    suspense,
    compliance,
  };
};

type Call = EventInput<"voice.call">;
/** A call: outbound to the US, answered, 60 s, unless `data` says otherwise (it must name the service). */
const call = (time: string, data: Partial<Call>, id?: string) =>
  ev(
    "voice.call",
    time,
    {
      callId: id ?? "c",
      direction: "outbound",
      country: "US",
      answered: true,
      durationSeconds: 60,
      ...data,
    } as Call,
    id ? { id } : {},
  );
type Resource = EventInput<"resource.activated">;
const activated = (time: string, data: Resource) => ev("resource.activated", time, data);
const deactivated = (time: string, data: Resource) => ev("resource.deactivated", time, data);

describe("rateVoice: voice.minute (§5)", () => {
  /** One call of `data` (outbound unless it says otherwise) is charged `minutes` voice minutes. */
  const expectMinutes = (data: Partial<Call>, minutes: number) => {
    const d: Partial<Call> = { direction: "outbound", ...data };
    const q = minutes === 1 ? "" : ` x${minutes}`;
    const expected =
      minutes > 0 ? [`voice.minute[country=US;direction=${d.direction};service=${d.service}]${q}`] : [];
    expect(run([call(T, d)]).charges).toEqual(expected);
  };

  // §5 who answered an outbound call decides if it counts: [name, service, answeredBy, seconds, minutes].
  it.each<[string, Call["service"], Call["answeredBy"], number, number]>([
    ["§5 calls answered by the end user: each started 60 s", "calls", "end_user", 61, 2],
    ["§5 calls answered by a machine counts", "calls", "machine", 60, 1],
    ["§5 calls answered by the account's application counts", "calls", "application", 1, 1],
    ["§5 ivr answered by the application does not count", "ivr", "application", 90, 0],
    ["§5 webrtc answered by a machine counts", "webrtc", "machine", 10, 1],
    ["§5 voice_message answered by a machine counts", "voice_message", "machine", 45, 1],
    ["§5 viber_business_call answered by the end user counts", "viber_business_call", "end_user", 125, 3],
    ["§5 sip_trunk answered by end user, exactly 120 s", "sip_trunk", "end_user", 120, 2],
  ])("%s", (_n, service, answeredBy, durationSeconds, minutes) => {
    expectMinutes({ service, answeredBy, durationSeconds }, minutes);
  });

  it.each<[string, Partial<Call>, number]>([
    ["§5 answered:true without answeredBy is the end user", { service: "ivr", durationSeconds: 119 }, 2],
    ["§5 unanswered call is free", { service: "calls", answered: false, durationSeconds: 30 }, 0],
    [
      "§5 policy: answeredBy ignored when answered is false",
      { service: "calls", answered: false, answeredBy: "end_user", durationSeconds: 30 },
      0,
    ],
    [
      "§5 viber_business_call answered by a machine does not count",
      { service: "viber_business_call", direction: "inbound", answeredBy: "machine", durationSeconds: 90 },
      0,
    ],
    [
      "§5 viber_business_call answered by the application counts",
      {
        service: "viber_business_call",
        direction: "inbound",
        answeredBy: "application",
        durationSeconds: 90,
      },
      2,
    ],
    [
      "§5 number_masking unanswered but announcement played",
      { service: "number_masking", answered: false, announcementPlayed: true, durationSeconds: 20 },
      1,
    ],
    [
      "§5 number_masking unanswered, no announcement",
      { service: "number_masking", answered: false, announcementPlayed: false, durationSeconds: 20 },
      0,
    ],
    [
      "§5 call_link: every call with duration > 0, answered or not",
      { service: "call_link", answered: false, durationSeconds: 10 },
      1,
    ],
    ["§5 call_link with duration 0 is free", { service: "call_link", answered: true, durationSeconds: 0 }, 0],
    ["§5 byoc: every call with duration > 0", { service: "byoc", answered: false, durationSeconds: 61 }, 2],
    ["§1.1 nothing free gives a charge: answered call of 0 s", { service: "calls", durationSeconds: 0 }, 0],
    [
      "§5 inbound_forward answered by a machine counts",
      { service: "inbound_forward", direction: "inbound", answeredBy: "machine", durationSeconds: 60 },
      1,
    ],
  ])("%s", (_n, data, minutes) => {
    expectMinutes(data, minutes);
  });

  it("§5 click-to-call: each of its two legs is its own call", () => {
    const legs = [
      call(T, { service: "click_to_call", durationSeconds: 70, country: "TR" }, "leg-a"),
      call(T, { service: "click_to_call", durationSeconds: 30, country: "DE" }, "leg-b"),
    ];
    expect(run(legs).charges).toEqual([
      "voice.minute[country=TR;direction=outbound;service=click_to_call] x2",
      "voice.minute[country=DE;direction=outbound;service=click_to_call]",
    ]);
  });

  it("G13 a call belongs to the period of its set-up time, priced at that instant", () => {
    const e = [
      call("2025-06-30T23:59:30Z", { service: "calls", durationSeconds: 600 }), // June, even though it ends in July
      call("2025-07-31T23:59:00Z", { service: "calls", durationSeconds: 180 }), // July, ends in August
    ];
    const out = run(e);
    expect(out.charges).toEqual(["voice.minute[country=US;direction=outbound;service=calls] x3"]);
    expect(out.pricedAt).toEqual(["2025-07-31T23:59:00.000Z"]);
  });

  it("G3 the period boundary in the account's time zone (Europe/Istanbul, UTC+3)", () => {
    const ist = periodWindow("2025-07", "Europe/Istanbul");
    const e = [
      call("2025-06-30T20:59:59Z", { service: "calls" }), // 23:59:59 on 30 June in Istanbul
      call("2025-06-30T21:00:00Z", { service: "calls" }), // 00:00 on 1 July there
      call("2025-07-31T21:00:00Z", { service: "calls" }), // August there
    ];
    expect(run(e, ist, { timezone: "Europe/Istanbul" }).charges).toHaveLength(1);
  });
});

describe("rateVoice: AMD and transcription (§5)", () => {
  it.each<[string, Partial<Call>, string[]]>([
    [
      "§5 voice.amd: requested and answered",
      { service: "calls", amd: true, answeredBy: "machine" },
      ["voice.amd"],
    ],
    ["§5 voice.amd: requested but unanswered is free", { service: "calls", amd: true, answered: false }, []],
    ["§5 voice.amd: not requested", { service: "calls", amd: false }, []],
    [
      "§5 transcription 15 s is one unit",
      { service: "calls", transcriptionSeconds: 15 },
      ["voice.transcription"],
    ],
    [
      "§5 transcription 16 s is two units (each started 15 s)",
      { service: "calls", transcriptionSeconds: 16 },
      ["voice.transcription x2"],
    ],
    ["§5 transcription 0 s gives nothing", { service: "calls", transcriptionSeconds: 0 }, []],
  ])("%s", (_n, data, extra) => {
    const out = run([call(T, data)]).charges.filter((c) => !c.startsWith("voice.minute"));
    expect(out).toEqual(extra);
  });

  it("G13 AMD and transcription are priced at the call's set-up time", () => {
    const out = run([call(T, { service: "calls", amd: true, transcriptionSeconds: 40 })]);
    expect(out.charges).toEqual([
      "voice.minute[country=US;direction=outbound;service=calls]",
      "voice.amd",
      "voice.transcription x3",
    ]);
    expect(new Set(out.pricedAt)).toEqual(new Set(["2025-07-02T09:00:00.000Z"]));
  });
});

describe("rateVoice: voice.e911_penalty (§5, G11)", () => {
  const usNumber = activated("2025-06-01T00:00:00Z", {
    resourceId: "n-us",
    resourceType: "number",
    numberType: "voice",
    country: "US",
  });
  const deNumber = activated("2025-06-01T00:00:00Z", {
    resourceId: "n-de",
    resourceType: "number",
    numberType: "voice",
    country: "DE",
  });
  const e911 = (time: string, numberResourceId = "n-us") =>
    activated(time, { resourceId: `e911-${numberResourceId}`, resourceType: "e911", numberResourceId });
  const sos = (data: Record<string, unknown> = {}) =>
    call(T, { service: "calls", emergency: true, fromResourceId: "n-us", durationSeconds: 100, ...data });
  const penalty = (events: LedgerEvent[]) =>
    run(events).charges.filter((c) => c.startsWith("voice.e911_penalty"));

  it.each([
    ["§5 US number with E911 active: no penalty", [usNumber, e911("2025-06-15T00:00:00Z"), sos()], []],
    ["§5 US number without E911: penalty", [usNumber, sos()], ["voice.e911_penalty"]],
    [
      "§5 E911 of another number does not cover it",
      [usNumber, e911("2025-06-15T00:00:00Z", "n-other"), sos()],
      ["voice.e911_penalty"],
    ],
    ["G11 E911 activated exactly at the call's time is active (half-open)", [usNumber, e911(T), sos()], []],
    [
      "G11 E911 activated after the call: penalty",
      [usNumber, e911("2025-07-02T09:00:01Z"), sos()],
      ["voice.e911_penalty"],
    ],
    [
      "G11 E911 deactivated exactly at the call's time is inactive",
      [
        usNumber,
        e911("2025-06-15T00:00:00Z"),
        deactivated(T, { resourceId: "e911-n-us", resourceType: "e911", numberResourceId: "n-us" }),
        sos(),
      ],
      ["voice.e911_penalty"],
    ],
    ["§5 non-US number: no penalty", [deNumber, sos({ fromResourceId: "n-de" })], []],
    ["§5 inbound emergency call: no penalty", [usNumber, sos({ direction: "inbound" })], []],
    [
      "§5 penalty even when the 911 call was not answered",
      [usNumber, sos({ answered: false })],
      ["voice.e911_penalty"],
    ],
  ])("%s", (_n, events, expected) => {
    expect(penalty(events as LedgerEvent[])).toEqual(expected);
  });

  it("§5 the penalised call's minutes are charged too", () => {
    expect(run([usNumber, sos()]).charges).toEqual([
      "voice.minute[country=US;direction=outbound;service=calls] x2",
      "voice.e911_penalty",
    ]);
  });

  it("§5 G10 without fromResourceId the penalty goes to suspense", () => {
    const out = run([sos({ fromResourceId: undefined })]);
    expect(out.charges).toEqual(["voice.minute[country=US;direction=outbound;service=calls] x2"]);
    expect(out.suspense).toHaveLength(1);
    expect(out.suspense[0]).toMatch(/^voice\.e911_penalty: .*without fromResourceId/);
  });

  it("§5 G10 policy: fromResourceId that is not a known number goes to suspense", () => {
    const out = run([sos({ fromResourceId: "n-unknown" })]);
    expect(out.suspense[0]).toMatch(/n-unknown, which is not a number resource/);
  });
});

describe("rateVoice: voice.conference_participant (§5)", () => {
  const at = (s: number) => new Date(Date.parse("2025-07-02T10:00:00Z") + s * 1000).toISOString();
  const p = (participantId: string, from: number, to: number) => ({
    participantId,
    joinedAt: at(from),
    leftAt: at(to),
  });
  const conf = (participants: ReturnType<typeof p>[], time = "2025-07-02T11:00:00Z") =>
    ev("voice.conference", time, { conferenceId: "room-1", participants });
  const minutes = (participants: ReturnType<typeof p>[]) =>
    Object.fromEntries([...conferenceExposure(participants)].map(([id, ms]) => [id, Math.ceil(ms / 60_000)]));

  it.each([
    [
      "§5 only the time with 3 or more participants counts",
      [p("a", 0, 600), p("b", 0, 600), p("c", 120, 270)],
      { a: 3, b: 3, c: 3 },
    ],
    ["§5 two participants: nothing", [p("a", 0, 600), p("b", 0, 600)], { a: 0, b: 0 }],
    [
      "§5 intervals are summed, then rounded up once (30 s + 30 s = 1 min)",
      [p("a", 0, 600), p("b", 0, 600), p("c", 0, 30), p("d", 60, 90)],
      { a: 1, b: 1, c: 1, d: 1 },
    ],
    [
      "G12 half-open stays: one leaves as another joins, the room keeps 3",
      [p("a", 0, 120), p("b", 0, 120), p("c", 0, 60), p("d", 60, 120)],
      { a: 2, b: 2, c: 1, d: 1 },
    ],
    [
      "§5 policy: a participant's overlapping stays are merged, counted once",
      [p("a", 0, 600), p("b", 0, 600), p("c", 0, 40), p("c", 30, 70)],
      { a: 2, b: 2, c: 2 },
    ],
    [
      "§5 exactly 60 s with 3 participants is 1 minute",
      [p("a", 0, 60), p("b", 0, 60), p("c", 0, 60)],
      { a: 1, b: 1, c: 1 },
    ],
  ])("%s", (_n, participants, expected) => {
    expect(minutes(participants)).toEqual(expected);
  });

  it("§5 one charge per participant with minutes, priced at the conference event's time", () => {
    const out = run([conf([p("a", 0, 600), p("b", 0, 600), p("c", 120, 270), p("d", 500, 530)])]);
    expect(out.charges).toEqual([
      "voice.conference_participant x3", // a: 150 s + 30 s
      "voice.conference_participant x3", // b: 150 s + 30 s
      "voice.conference_participant x3", // c: 150 s
      "voice.conference_participant", // d: 30 s
    ]);
    expect(out.pricedAt[0]).toBe("2025-07-02T11:00:00.000Z");
  });

  it("§5 policy: the conference belongs to the period of its event's time", () => {
    const june = conf([p("a", 0, 600), p("b", 0, 600), p("c", 0, 600)], "2025-06-30T23:59:59Z");
    expect(run([june]).charges).toEqual([]);
  });
});

describe("rateVoice: SIP trunk compliance figures (§5)", () => {
  const trunk = (
    time: string,
    resourceId: string,
    channels: number,
    plan: Resource["plan"] = "unlimited_us",
  ) => activated(time, { resourceId, resourceType: "sip_trunk", channels, plan, country: "US" });
  const trunkCall = (time: string, minutes: number, data: Partial<Call> = {}) =>
    call(time, { service: "sip_trunk", trunkId: "t1", durationSeconds: minutes * 60, ...data });

  it("§5 fair use: billed outbound minutes on unlimited_us trunks ÷ Σ peak channels; exactly 4000 is no breach", () => {
    const out = run([trunk("2025-06-01T00:00:00Z", "t1", 2), trunkCall(T, 8000)]);
    expect(out.compliance.sipTrunkUnlimitedFairUse).toMatchObject({
      outboundMinutes: 8000,
      channels: 2,
      minutesPerChannel: "4000.00",
      breach: false,
      consecutiveBreaches: false,
      trunksToDisable: [],
    });
  });

  it("§5 fair use: only billed outbound minutes on trunks unlimited at the call's time count", () => {
    const e = [
      trunk("2025-06-01T00:00:00Z", "t1", 1),
      trunk("2025-06-01T00:00:00Z", "t2", 1, "metered"),
      trunkCall(T, 3000),
      trunkCall(T, 5000, { trunkId: "t2" }), // metered trunk
      trunkCall(T, 5000, { direction: "inbound" }), // inbound
      trunkCall(T, 5000, { answered: false }), // not billed
      trunkCall(T, 5000, { trunkId: undefined }), // no trunk
      trunk("2025-07-20T00:00:00Z", "t1", 1, "metered"), // switched to metered
      trunkCall("2025-07-21T00:00:00Z", 5000),
    ];
    expect(run(e).compliance.sipTrunkUnlimitedFairUse).toMatchObject({
      outboundMinutes: 3000,
      channels: 1,
      breach: false,
    });
  });

  it("§5 fair use: a trunk's peak channel count in the period; > 4000 per channel is a breach", () => {
    const e = [
      trunk("2025-06-01T00:00:00Z", "t1", 1),
      trunk("2025-07-10T00:00:00Z", "t1", 3),
      trunkCall(T, 12_001),
    ];
    expect(run(e).compliance.sipTrunkUnlimitedFairUse).toMatchObject({
      channels: 3,
      breach: true,
      consecutiveBreaches: false,
    });
  });

  it("§5 fair use: two consecutive breaches mark all unlimited trunks for disabling", () => {
    const e = [
      trunk("2025-06-01T00:00:00Z", "t1", 1),
      trunk("2025-06-01T00:00:00Z", "t2", 1),
      trunkCall("2025-06-10T00:00:00Z", 8001),
      trunkCall(T, 8001, { trunkId: "t2" }),
    ];
    expect(run(e).compliance.sipTrunkUnlimitedFairUse).toMatchObject({
      period: "2025-07",
      breach: true,
      previousPeriod: { period: "2025-06", outboundMinutes: 8001, channels: 2, breach: true },
      consecutiveBreaches: true,
      trunksToDisable: ["t1", "t2"],
    });
  });

  it("§5 fair use: no figure without unlimited trunks or minutes", () => {
    expect(run([call(T, { service: "calls" })]).compliance).toEqual({});
  });

  it.each([
    [
      "§5 short calls: 2 of 5 answered sip_trunk calls ≤ 6 s is 40 %, a breach",
      [6, 3, 7, 60, 120],
      { answeredCalls: 5, shortCalls: 2, share: "0.4", breach: true },
    ],
    [
      "§5 short calls: exactly 20 % is not a breach",
      [6, 7, 60, 120, 30],
      { answeredCalls: 5, shortCalls: 1, share: "0.2", breach: false },
    ],
  ])("%s", (_n, durations, expected) => {
    const e = [
      ...durations.map((s, i) => call(T, { service: "sip_trunk", durationSeconds: s }, `s${i}`)),
      call(T, { service: "sip_trunk", answered: false, durationSeconds: 0 }, "unanswered"),
      call(T, { service: "calls", durationSeconds: 1 }, "other-service"),
    ];
    expect(run(e).compliance.sipTrunkShortDurationCalls).toMatchObject(expected);
  });
});

/** Voice and video recording (rating-rules §5 "Recording", G3, G5, G8, G12, G13). */
import { describe, expect, it } from "vitest";
import type { AccountInput } from "../../../shared/contract/accounts.js";
import { rateRecording, recordingAboveLimit } from "../../../shared/core/products/recording/rule.js";
import type { LedgerEvent, LedgerEventOf } from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { ev } from "../../support/events.js";
import { july, outputText, rate } from "./harness.js";

const T = "2025-07-02T09:00:00Z";
const FULL = {
  settings: { conversationsFullSolution: true, conversationsLicenses: 4 },
} as Partial<AccountInput>;

const run = (events: LedgerEvent[], over: Partial<AccountInput> = {}, period: PeriodWindow = july) => {
  const out = rate(rateRecording, events, period, over);
  const { charges, compliance } = outputText(out, { at: false });
  return { charges, pricedAt: out.charges.map((c) => new Date(c.pricedAt).toISOString()), compliance };
};

const at = (base: string, s: number) => new Date(Date.parse(base) + s * 1000).toISOString();
/** A recorded call set up at `time`, recording [from, to) seconds after it. */
const recorded = (time: string, callId: string, from = 0, to = 60) =>
  ev("voice.call", time, {
    callId,
    service: "calls",
    direction: "outbound",
    country: "US",
    answered: true,
    durationSeconds: to,
    recording: { startedAt: at(time, from), endedAt: at(time, to) },
  });
const unrecorded = (time: string) =>
  ev("voice.call", time, {
    callId: "u",
    service: "calls",
    direction: "outbound",
    country: "US",
    answered: true,
    durationSeconds: 60,
  });
const calls = (n: number, time = T) =>
  Array.from({ length: n }, (_, i) => recorded(at(time, i * 3600), `c${i}`));
const storage = (time: string, day: string, data: Record<string, unknown>, id?: string) =>
  ev("recording.storage", time, { day, ...data }, id ? { id } : {});

describe("rateRecording: recording.license (§5)", () => {
  it.each([
    ["§5 one licence per recorded call below the limit (default 10)", calls(3), {}, ["recording.license x3"]],
    [
      "§5 min(recorded calls, limit): 12 recorded calls, default limit 10",
      calls(12),
      {},
      ["recording.license x10"],
    ],
    [
      "§5 the account's recordingLimit",
      calls(7),
      { settings: { recordingLimit: 5 } },
      ["recording.license x5"],
    ],
    ["§5 unrecorded calls need no licence", [unrecorded(T)], {}, []],
    ["§5 Full solution: recording is free", calls(3), FULL, []],
    ["§1.1 a limit of 0 gives no zero-quantity charge", calls(2), { settings: { recordingLimit: 0 } }, []],
    [
      "G13 a call set up in June is June's, even if recorded into July",
      [recorded("2025-06-30T23:59:00Z", "j", 0, 600)],
      {},
      [],
    ],
  ])("%s", (_n, events, over, expected) => {
    expect(run(events as LedgerEvent[], over as Partial<AccountInput>).charges).toEqual(expected);
  });

  it("G8 the licence is a per-period quantity priced at the period's first instant", () => {
    expect(run(calls(2)).pricedAt).toEqual(["2025-07-01T00:00:00.000Z"]);
  });
});

describe("rateRecording: storage (§5)", () => {
  it("§5 only the day's latest storage event counts: minute-days for non-Full accounts", () => {
    const e = [
      storage("2025-07-03T23:00:00Z", "2025-07-03", { minutes: 100, videoGigabytes: 1.5 }),
      storage("2025-07-03T23:30:00Z", "2025-07-03", { minutes: 120, gigabytes: 9, videoGigabytes: 2 }),
      storage("2025-07-04T23:30:00Z", "2025-07-04", { minutes: 50 }),
    ];
    expect(run(e).charges).toEqual([
      "recording.storage_minute_day x120",
      "recording.video_storage_gb_day x2",
      "recording.storage_minute_day x50",
    ]);
  });

  it("§5 Full solution: GB-days instead of minute-days; video for everyone", () => {
    const e = [storage(T, "2025-07-02", { minutes: 100, gigabytes: 5, videoGigabytes: 0.25 })];
    expect(run(e, FULL).charges).toEqual([
      "recording.storage_gb_day x5",
      "recording.video_storage_gb_day x0.25",
    ]);
  });

  it("§5 same time for one day: the greater id wins", () => {
    const e = [
      storage(T, "2025-07-02", { minutes: 7 }, "st-b"),
      storage(T, "2025-07-02", { minutes: 9 }, "st-a"),
    ];
    expect(run(e).charges).toEqual(["recording.storage_minute_day x7"]);
  });

  it("§5 seed example: 5 minutes kept 2 days = 10 minute-days", () => {
    const e = [
      storage(T, "2025-07-02", { minutes: 5 }),
      storage("2025-07-03T09:00:00Z", "2025-07-03", { minutes: 5 }),
    ];
    const out = run(e);
    expect(out.charges).toEqual(["recording.storage_minute_day x5", "recording.storage_minute_day x5"]);
    expect(out.pricedAt).toEqual(["2025-07-02T09:00:00.000Z", "2025-07-03T09:00:00.000Z"]);
  });

  it("§5 a day of another period is not charged in this one; zero amounts give no charge", () => {
    const e = [
      storage("2025-06-30T22:00:00Z", "2025-06-30", { minutes: 40 }),
      storage("2025-07-05T09:00:00Z", "2025-07-05", { minutes: 0, videoGigabytes: 0 }),
    ];
    expect(run(e).charges).toEqual([]);
  });

  it("§5 policy: a June day reported only after June ended is charged in July, once", () => {
    const e = [
      storage("2025-07-01T00:05:00Z", "2025-06-30", { minutes: 40 }),
      storage("2025-07-01T00:10:00Z", "2025-06-30", { minutes: 45 }),
    ];
    const out = run(e);
    expect(out.charges).toEqual(["recording.storage_minute_day x45"]);
    expect(out.pricedAt).toEqual(["2025-07-01T00:10:00.000Z"]);
    // ...and not again in August.
    expect(run(e, {}, periodWindow("2025-08", "UTC")).charges).toEqual([]);
  });

  it("§5 policy: a June day reported in June and again in July stays June's", () => {
    const e = [
      storage("2025-06-30T23:00:00Z", "2025-06-30", { minutes: 40 }),
      storage("2025-07-01T00:10:00Z", "2025-06-30", { minutes: 45 }),
    ];
    expect(run(e).charges).toEqual([]);
  });

  it("G3 the day is local: a Europe/Istanbul account's 1 July begins at 21:00 UTC on 30 June", () => {
    const ist = periodWindow("2025-07", "Europe/Istanbul");
    const e = [storage("2025-06-30T21:30:00Z", "2025-07-01", { minutes: 3 })];
    const out = run(e, { timezone: "Europe/Istanbul" }, ist);
    expect(out.charges).toEqual(["recording.storage_minute_day x3"]);
    expect(out.pricedAt).toEqual(["2025-06-30T21:30:00.000Z"]);
  });
});

describe("rateRecording: recording.video_export (§5)", () => {
  it("§5 policy: per export event; the same recording exported twice is charged twice", () => {
    const e = [
      ev("recording.exported", T, { recordingId: "r1" }),
      ev("recording.exported", "2025-07-09T09:00:00Z", { recordingId: "r1" }),
      ev("recording.exported", "2025-06-30T09:00:00Z", { recordingId: "r0" }), // June
    ];
    expect(run(e).charges).toEqual(["recording.video_export", "recording.video_export"]);
  });
});

describe("rateRecording: calls recorded above the recording limit (§5 compliance)", () => {
  const figure = (events: LedgerEvent[], over: Partial<AccountInput> = {}) =>
    run(events, over).compliance.recordingAboveLimit as Record<string, unknown> | undefined;

  it("§5 three overlapping recordings with limit 2: the third started at the limit", () => {
    const e = [recorded(T, "a", 0, 600), recorded(T, "b", 10, 600), recorded(T, "c", 20, 600)];
    expect(figure(e, { settings: { recordingLimit: 2 } })).toEqual({
      limit: 2,
      maxSimultaneous: 3,
      callsStartedAtLimit: 1,
      callIds: ["c"],
      breach: true,
    });
  });

  it("G12 half-open recordings: one ending as another starts is not simultaneous", () => {
    const e = [recorded(T, "a", 0, 60), recorded(T, "b", 0, 60), recorded(T, "c", 60, 120)];
    expect(figure(e, { settings: { recordingLimit: 2 } })).toMatchObject({
      maxSimultaneous: 2,
      callsStartedAtLimit: 0,
      breach: false,
    });
  });

  it("§5 a recording carried over from June counts towards July's simultaneous recordings", () => {
    const e = [
      recorded("2025-06-30T23:50:00Z", "june", 0, 3600),
      recorded("2025-07-01T00:05:00Z", "july", 0, 60),
    ];
    expect(figure(e, { settings: { recordingLimit: 1 } })).toMatchObject({
      maxSimultaneous: 2,
      callIds: ["july"],
      breach: true,
    });
  });

  it("§5 Full solution: the limit is the number of Conversations licences", () => {
    const e = Array.from({ length: 5 }, (_, i) => recorded(T, `c${i}`, i, 600));
    expect(figure(e, FULL)).toMatchObject({ limit: 4, maxSimultaneous: 5, callIds: ["c4"], breach: true });
  });

  it("§5 simultaneous starts are taken in canonical order", () => {
    const e = [recorded(T, "x", 0, 60), recorded(T, "y", 0, 60)];
    const out = recordingAboveLimit(july, e as LedgerEventOf<"voice.call">[], 1);
    expect(out).toMatchObject({ callIds: ["y"] });
  });

  it("§5 no figure without recordings in the period", () => {
    expect(figure([unrecorded(T)])).toBeUndefined();
  });
});

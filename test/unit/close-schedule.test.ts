/** Each account's close is due after its own period end plus the grace (G3). */
import { describe, expect, it } from "vitest";
import { dueZones, isDue } from "../../shared/core/close-schedule.js";

const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();
// UTC+14, UTC+3, UTC−8 (January: no daylight saving), UTC−12.
const ZONES = ["Pacific/Kiritimati", "Europe/Istanbul", "America/Los_Angeles", "Etc/GMT+12"];

describe("dueZones: the latest period each zone may close at an instant", () => {
  // January ends at 2025-01-31T10:00Z in UTC+14 … 2025-02-01T12:00Z in UTC−12 (26 hours apart); grace 2 h.
  // Each row: the instant, then the period due in each of ZONES, in its order (Kiritimati, Istanbul, LA, UTC−12).
  it.each([
    ["2025-01-31T11:59:59.999Z", ["2024-12", "2024-12", "2024-12", "2024-12"]],
    ["2025-01-31T12:00:00.000Z", ["2025-01", "2024-12", "2024-12", "2024-12"]],
    ["2025-01-31T22:59:59.999Z", ["2025-01", "2024-12", "2024-12", "2024-12"]],
    ["2025-01-31T23:00:00.000Z", ["2025-01", "2025-01", "2024-12", "2024-12"]],
    ["2025-02-01T10:00:00.000Z", ["2025-01", "2025-01", "2025-01", "2024-12"]],
    ["2025-02-01T13:59:59.999Z", ["2025-01", "2025-01", "2025-01", "2024-12"]],
    ["2025-02-01T14:00:00.000Z", ["2025-01", "2025-01", "2025-01", "2025-01"]],
  ] as const)("at %s", (now, want) => {
    const due = Object.fromEntries(dueZones(at(now), ZONES, 2).map((d) => [d.zone, d.period]));
    expect(due).toEqual(Object.fromEntries(ZONES.map((zone, i) => [zone, want[i]])));
  });

  it("gives each zone's due instant: its own period end plus the grace", () => {
    const due = dueZones(at("2025-02-02T00:00:00Z"), ZONES, 2);
    expect(due.map((d) => [d.zone, d.period, iso(d.dueAt)])).toEqual([
      ["America/Los_Angeles", "2025-01", "2025-02-01T10:00:00.000Z"],
      ["Etc/GMT+12", "2025-01", "2025-02-01T14:00:00.000Z"],
      ["Europe/Istanbul", "2025-01", "2025-01-31T23:00:00.000Z"],
      ["Pacific/Kiritimati", "2025-01", "2025-01-31T12:00:00.000Z"],
    ]);
  });

  it("grace 0 closes at the period end itself; each zone listed once", () => {
    expect(dueZones(at("2025-01-31T10:00:00Z"), ["Pacific/Kiritimati", "Pacific/Kiritimati"], 0)).toEqual([
      { zone: "Pacific/Kiritimati", period: "2025-01", dueAt: at("2025-01-31T10:00:00Z") },
    ]);
    expect(dueZones(at("2025-01-31T09:59:59.999Z"), ["Pacific/Kiritimati"], 0)[0]?.period).toBe("2024-12");
  });

  it("follows daylight saving: UTC−7 in July for Los Angeles, across a year end in UTC", () => {
    expect(dueZones(at("2025-08-01T08:59:59Z"), ["America/Los_Angeles"], 2)[0]?.period).toBe("2025-06");
    expect(dueZones(at("2025-08-01T09:00:00Z"), ["America/Los_Angeles"], 2)[0]?.period).toBe("2025-07");
    expect(dueZones(at("2026-01-01T02:00:00Z"), ["UTC"], 2)[0]?.period).toBe("2025-12");
  });

  it("refuses a grace outside 0..240 whole hours", () => {
    for (const g of [-1, 241, 1.5, Number.NaN]) expect(() => dueZones(0, ["UTC"], g)).toThrow(RangeError);
  });

  it("isDue agrees with dueZones", () => {
    expect(isDue(at("2025-02-01T13:59:59Z"), "Etc/GMT+12", "2025-01", 2)).toBe(false);
    expect(isDue(at("2025-02-01T14:00:00Z"), "Etc/GMT+12", "2025-01", 2)).toBe(true);
    expect(isDue(at("2025-01-31T12:00:00Z"), "Pacific/Kiritimati", "2025-01", 2)).toBe(true);
  });
});

/** Periods in the account's time zone (rating-rules G3). */
import { describe, expect, it } from "vitest";
import { daysInPeriod, periodOf, periodWindow, shiftPeriod } from "../../shared/core/time.js";

describe("periods", () => {
  it.each([
    ["UTC", "2025-07", "2025-07-01T00:00:00.000Z", "2025-08-01T00:00:00.000Z"],
    ["Europe/Istanbul", "2025-07", "2025-06-30T21:00:00.000Z", "2025-07-31T21:00:00.000Z"],
    ["America/New_York", "2025-03", "2025-03-01T05:00:00.000Z", "2025-04-01T04:00:00.000Z"], // DST starts in March
    ["Pacific/Kiritimati", "2025-01", "2024-12-31T10:00:00.000Z", "2025-01-31T10:00:00.000Z"], // UTC+14
    ["Pacific/Pago_Pago", "2025-01", "2025-01-01T11:00:00.000Z", "2025-02-01T11:00:00.000Z"], // UTC−11
  ])("%s %s is [%s, %s)", (tz, id, start, end) => {
    const w = periodWindow(id, tz);
    expect(new Date(w.start).toISOString()).toBe(start);
    expect(new Date(w.end).toISOString()).toBe(end);
    expect(periodOf(w.start, tz)).toBe(id);
    expect(periodOf(w.end - 1, tz)).toBe(id);
    expect(periodOf(w.end, tz)).toBe(shiftPeriod(id, 1));
  });
  it("shifts across years and counts days", () => {
    expect(shiftPeriod("2025-01", -1)).toBe("2024-12");
    expect(shiftPeriod("2024-12", 1)).toBe("2025-01");
    expect(daysInPeriod("2024-02")).toBe(29);
  });
});

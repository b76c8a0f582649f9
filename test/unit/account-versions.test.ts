/**
 * Configuration versions (contract §2, shared/core/account-versions.ts) and zone schedules
 * (shared/core/time.ts): which version rates a period, and that a change of time zone leaves every
 * instant in exactly one period.
 */
import { describe, expect, it } from "vitest";
import {
  type AccountHistory,
  adjustmentPeriodOf,
  endedBefore,
  periodAfterEnd,
  periodOfAccount,
  versionForPeriod,
  zoneScheduleOf,
} from "../../shared/core/account-versions.js";
import { HOUR, periodOf, periodWindow } from "../../shared/core/time.js";
import { configOf, stdTariffs } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }]);
const accountIn = (timezone: string, name = "Acme") =>
  configOf(tariffs, [{ accountId: "acme", name, timezone }]).accounts[0]!;
const history = (...versions: [string, string][]): AccountHistory => ({
  accountId: "acme",
  versions: versions.map(([from, zone]) => ({
    from: Date.parse(from),
    account: accountIn(zone),
    tariff: tariffs[0]!,
  })),
});
const at = (iso: string) => Date.parse(iso);

describe("configuration versions and zone schedules", () => {
  it("a period is rated with the version in force at its first instant; the first version rates earlier periods", () => {
    const h: AccountHistory = {
      accountId: "acme",
      versions: [
        { from: at("2025-03-10T00:00:00Z"), account: accountIn("UTC", "Acme"), tariff: tariffs[0]! },
        { from: at("2025-05-15T00:00:00Z"), account: accountIn("UTC", "Acme Ltd"), tariff: tariffs[0]! },
      ],
    };
    expect(versionForPeriod(h, "2025-01").account.name).toBe("Acme"); // before the first version
    expect(versionForPeriod(h, "2025-05").account.name).toBe("Acme"); // May began before the load
    expect(versionForPeriod(h, "2025-06").account.name).toBe("Acme Ltd");
    expect(zoneScheduleOf(h)).toBe("UTC");
  });

  it("UTC → Asia/Tokyo loaded mid-June: June in UTC, July in Tokyo, June ends where July starts", () => {
    const h = history(["2025-01-01T00:00:00Z", "UTC"], ["2025-06-15T00:00:00Z", "Asia/Tokyo"]);
    const tz = zoneScheduleOf(h);
    expect(tz).toBe("UTC|2025-07:Asia/Tokyo");
    expect(periodWindow("2025-06", tz)).toMatchObject({
      start: at("2025-06-01T00:00:00Z"),
      end: at("2025-06-30T15:00:00Z"),
    });
    expect(periodWindow("2025-07", tz)).toMatchObject({
      start: at("2025-06-30T15:00:00Z"),
      end: at("2025-07-31T15:00:00Z"),
    });
    expect(periodOfAccount(h, at("2025-06-30T14:59:59Z"))).toBe("2025-06");
    expect(periodOfAccount(h, at("2025-06-30T15:00:00Z"))).toBe("2025-07");
    expect(versionForPeriod(h, "2025-06").account.timezone).toBe(tz);
  });

  it("UTC → America/New_York: June lasts until July starts in New York (no gap)", () => {
    const h = history(["2025-01-01T00:00:00Z", "UTC"], ["2025-06-30T23:00:00Z", "America/New_York"]);
    const tz = zoneScheduleOf(h);
    expect(periodWindow("2025-06", tz).end).toBe(at("2025-07-01T04:00:00Z"));
    expect(periodOf(at("2025-07-01T02:00:00Z"), tz)).toBe("2025-06");
  });

  it("a zone change loaded after the next period began in the old zone waits one more period", () => {
    // 02:00Z on 1 July: July already began in UTC, so July stays UTC; August is New York's.
    const h = history(["2025-01-01T00:00:00Z", "UTC"], ["2025-07-01T02:00:00Z", "America/New_York"]);
    expect(zoneScheduleOf(h)).toBe("UTC|2025-08:America/New_York");
    // No event stored before the load moves: 1 July 01:00Z was July (UTC) and stays July.
    expect(periodOfAccount(h, at("2025-07-01T01:00:00Z"))).toBe("2025-07");
  });

  it("every instant is in exactly one period across changes east and west", () => {
    const h = history(
      ["2025-01-01T00:00:00Z", "Pacific/Kiritimati"],
      ["2025-03-10T00:00:00Z", "Etc/GMT+12"],
      ["2025-05-20T00:00:00Z", "Europe/Istanbul"],
    );
    const tz = zoneScheduleOf(h);
    for (let t = at("2025-01-01T00:00:00Z"); t < at("2025-08-01T00:00:00Z"); t += HOUR) {
      const p = periodOf(t, tz);
      const w = periodWindow(p, tz);
      expect(t >= w.start && t < w.end, new Date(t).toISOString()).toBe(true);
    }
    for (const p of ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"])
      expect(periodWindow(p, tz).end).toBe(periodWindow(`2025-0${Number(p.slice(5)) + 1}`, tz).start);
  });

  it("an ended account refuses instants from its end on", () => {
    const h = { ...history(["2025-01-01T00:00:00Z", "UTC"]), endedAt: at("2025-07-20T00:00:00Z") };
    expect(endedBefore(h, at("2025-07-19T23:59:59Z"))).toBe(false);
    expect(endedBefore(h, at("2025-07-20T00:00:00Z"))).toBe(true);
  });

  it("after its end a period bills only adjustments; they belong to the period of receipt in the last zone", () => {
    const h = { ...history(["2025-01-01T00:00:00Z", "Asia/Tokyo"]), endedAt: at("2025-07-03T00:00:00Z") };
    expect(periodAfterEnd(h, "2025-07")).toBe(false); // the end's own period: a customer at its start
    expect(periodAfterEnd(h, "2025-08")).toBe(true);
    expect(periodAfterEnd(history(["2025-01-01T00:00:00Z", "UTC"]), "2030-01")).toBe(false); // not ended
    // 31 August 16:00Z is 1 September in Tokyo.
    expect(adjustmentPeriodOf(h, at("2025-08-31T14:59:59Z"))).toBe("2025-08");
    expect(adjustmentPeriodOf(h, at("2025-08-31T16:00:00Z"))).toBe("2025-09");
  });
});

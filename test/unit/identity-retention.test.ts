/** G5's 400 days: the refusal boundary and the TTL that must outlive every accepted event's identity. */
import { describe, expect, it } from "vitest";
import { identityExpiresAt, isTooOld } from "../../shared/core/identity-retention.js";
import { DAY } from "../../shared/core/time.js";

describe("identity retention (G5)", () => {
  const receipt = Date.parse("2026-02-23T10:00:00Z");
  it("refuses only what is more than 400 days before its receipt", () => {
    expect(isTooOld(receipt - 400 * DAY, receipt)).toBe(false);
    expect(isTooOld(receipt - 400 * DAY - 1, receipt)).toBe(true);
    expect(isTooOld(receipt + DAY, receipt)).toBe(false);
  });
  it("an accepted event's claim expires only after the event would be refused (a day's margin)", () => {
    for (const t of [receipt - 400 * DAY, receipt - 1, receipt + DAY]) {
      // The last receipt at which an event at t is still accepted, versus its claim's TTL.
      expect(identityExpiresAt(t) * 1000).toBeGreaterThanOrEqual(t + 400 * DAY + DAY);
    }
    expect(identityExpiresAt(1_000)).toBe(Math.ceil((1_000 + 401 * DAY) / 1000));
  });
});

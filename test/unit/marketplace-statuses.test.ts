/** Every status of the Metering API's StatusEnum has a defined outcome. */
import { describe, expect, it } from "vitest";
import { METERING_STATUSES, outcomeOfStatus } from "../../shared/core/marketplace/statuses.js";

describe("the outcome of each Marketplace status", () => {
  it("covers the ten statuses of the OpenAPI StatusEnum", () => {
    expect([...METERING_STATUSES].sort()).toEqual(
      [
        "Accepted",
        "BadArgument",
        "Duplicate",
        "Error",
        "Expired",
        "InvalidDimension",
        "InvalidQuantity",
        "ResourceNotActive",
        "ResourceNotAuthorized",
        "ResourceNotFound",
      ].sort(),
    );
  });

  it.each([
    ["Accepted", "accepted", undefined],
    ["Duplicate", "duplicate-accepted", undefined],
    ["Expired", "rejected-final", true],
    ["Error", "retry", undefined],
    ["ResourceNotFound", "rejected-final", false],
    ["ResourceNotAuthorized", "rejected-final", false],
    ["ResourceNotActive", "rejected-final", false],
    ["InvalidDimension", "rejected-final", false],
    ["InvalidQuantity", "rejected-final", false],
    ["BadArgument", "rejected-final", false],
    ["SomethingNew", "retry", undefined],
  ] as const)("%s → %s", (status, kind, expired) => {
    const outcome = outcomeOfStatus(status);
    expect(outcome.kind).toBe(kind);
    if (outcome.kind === "rejected-final") {
      expect(outcome.expired).toBe(expired);
      expect(outcome.reason).not.toBe("");
    }
    if (outcome.kind === "retry") expect(outcome.reason).toMatch(status === "Error" ? /Error/ : /unknown/);
  });
});

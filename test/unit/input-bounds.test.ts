/**
 * Pure parts of the input bounds: leap seconds, the source bound, which errors are transient,
 * bounded excerpts and reasons, and the hours a far-jumping clock must visit for the Marketplace reporter.
 */
import { describe, expect, it } from "vitest";
import { causeOf, isTransientError } from "../../shared/adapters/aws-errors.js";
import { boundText, utf8Prefix } from "../../shared/app/dead-letters.js";
import { instantOf, isRealDateTime } from "../../shared/contract/common.js";
import { reportingBoundaries } from "../../shared/core/marketplace/usage.js";
import { parseUsageMessage } from "../../shared/core/products/index.js";
import { HOUR } from "../../shared/core/time.js";
import { account, ev } from "../support/events.js";

const sms = (time: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    specversion: "1.0",
    id: "e1",
    source: "/gw",
    type: "sms.mt",
    subject: "acme",
    time,
    data: { to: "1", country: "TR", status: "submitted" },
    ...over,
  });

describe("leap seconds (RFC 3339 §5.6): read as the next second", () => {
  it.each([
    ["2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000Z"],
    ["2016-12-31T23:59:60.250Z", "2017-01-01T00:00:00.250Z"],
    ["2017-01-01T02:59:60+03:00", "2017-01-01T00:00:00.000Z"],
  ])("%s is %s", (s, iso) => {
    expect(isRealDateTime(s)).toBe(true);
    expect(new Date(instantOf(s)).toISOString()).toBe(iso);
    expect(parseUsageMessage(sms(s)).time).toBe(s);
  });
  it("a second 60 that is not a leap second (minute ≠ 59) is refused", () => {
    expect(isRealDateTime("2016-12-31T23:58:60Z")).toBe(false);
    expect(() => parseUsageMessage(sms("2016-12-31T23:58:60Z"))).toThrow(/time: not a real date-time/);
  });
  it("an ordinary instant reads as Date.parse does", () => {
    expect(instantOf("2025-07-02T09:00:00+03:00")).toBe(Date.parse("2025-07-02T06:00:00Z"));
  });
});

describe("source: at most 1,024 bytes of UTF-8", () => {
  it("takes 1,024 bytes and refuses 1,025", () => {
    expect(
      parseUsageMessage(sms("2025-07-02T09:00:00Z", { source: `/${"é".repeat(511)}x` })).source,
    ).toHaveLength(513);
    expect(() => parseUsageMessage(sms("2025-07-02T09:00:00Z", { source: `/${"é".repeat(512)}` }))).toThrow(
      /source: at most 1024 bytes/,
    );
    expect(() => parseUsageMessage(sms("2025-07-02T09:00:00Z", { source: `/${"s".repeat(1500)}` }))).toThrow(
      /invalid CloudEvents envelope: source: /,
    );
  });
});

describe("only transient errors are retried", () => {
  const named = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(name), { name, ...extra });
  it.each([
    ["throttling", named("ThrottlingException")],
    ["provisioned throughput", named("ProvisionedThroughputExceededException")],
    ["a 5xx answer", named("Whatever", { $metadata: { httpStatusCode: 503 } })],
    ["an SDK-marked retryable error", named("Whatever", { $retryable: { throttling: false } })],
    ["a refused connection", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })],
    [
      "a transaction cancelled by a conflict",
      named("TransactionCanceledException", { CancellationReasons: [{ Code: "TransactionConflict" }] }),
    ],
    ["a network error as cause", new Error("fetch failed", { cause: { code: "ECONNRESET" } })],
  ])("%s is transient", (_n, e) => expect(isTransientError(e)).toBe(true));
  it.each([
    [
      "a validation error (item too large)",
      named("ValidationException", { $metadata: { httpStatusCode: 400 } }),
    ],
    ["a missing table", named("ResourceNotFoundException", { $metadata: { httpStatusCode: 400 } })],
    [
      "a transaction cancelled by a condition",
      named("TransactionCanceledException", { CancellationReasons: [{ Code: "ConditionalCheckFailed" }] }),
    ],
    ["a bug", new TypeError("x is undefined")],
    ["not an error", "oops"],
  ])("%s is not", (_n, e) => expect(isTransientError(e)).toBe(false));
});

describe("the cause of a failure of ours (the SDK's classification, plus access and KMS)", () => {
  const named = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(name), { name, ...extra });
  it.each([
    ["throttled", named("ThrottlingException", { $metadata: { httpStatusCode: 400 } })],
    ["throttled", named("ProvisionedThroughputExceededException")],
    ["throttled", named("StatementsRefusedError", { $retryable: { throttling: true } })],
    [
      "throttled",
      named("TransactionCanceledException", { CancellationReasons: [{ Code: "ThrottlingError" }] }),
    ],
    ["access-denied", named("AccessDeniedException", { $metadata: { httpStatusCode: 400 } })],
    ["access-denied", named("StatementsRefusedError", { code: "AccessDenied" })],
    ["access-denied", named("Forbidden", { $metadata: { httpStatusCode: 403 } })],
    ["kms", named("KMSDisabledException")],
    ["kms", named("ValidationException", { message: "KMS key is disabled" })],
    ["timeout", named("TimeoutError")],
    ["timeout", Object.assign(new Error("t"), { code: "ETIMEDOUT" })],
    ["unavailable", named("Whatever", { $metadata: { httpStatusCode: 503 } })],
    ["unavailable", new Error("fetch failed", { cause: { code: "ECONNRESET" } })],
    ["unexpected", named("ValidationException", { $metadata: { httpStatusCode: 400 } })],
    ["unexpected", new TypeError("x is undefined")],
  ])("%s: %o", (cause, e) => expect(causeOf(e)).toBe(cause));
});

describe("bounded excerpts and reasons", () => {
  it("cuts UTF-8 at a character boundary, never inside a surrogate pair", () => {
    expect(utf8Prefix("abc", 8)).toBe("abc");
    expect(utf8Prefix("ééé", 5)).toBe("éé");
    expect(utf8Prefix("a😀b", 4)).toBe("a");
    expect(Buffer.byteLength(utf8Prefix("😀".repeat(5000), 8192))).toBeLessThanOrEqual(8192);
  });
  it("says how much of a long text was left out", () => {
    expect(boundText("abcdef", 3)).toBe("abc… (3 more characters)");
    expect(boundText("abc", 3)).toBe("abc");
  });
});

describe("Marketplace: the hours a clock jumping far ahead must visit", () => {
  const azure = (dimensions: Record<string, string>) =>
    account({
      accountId: "contoso",
      billingChannel: "azure-marketplace",
      azure: { resourceId: "r", planId: "p", dimensions },
    });
  const at = (iso: string) => Date.parse(iso);
  const smsEvent = (time: string) =>
    ev("sms.mt", time, { to: "1", country: "TR", status: "submitted" }, { subject: "contoso" });

  it("an event a year ahead: the first hour, the event hours, nothing between", () => {
    const from = at("2025-07-02T09:05:00Z");
    const events = [
      smsEvent("2025-07-02T09:30:00Z"),
      smsEvent("2025-07-02T11:10:00Z"),
      smsEvent("2026-07-02T10:30:00Z"),
    ];
    const b = reportingBoundaries(azure({ "sms.mt": "sms_mt" }), events, from, at("2026-07-03T00:00:00Z"));
    expect(b.map((x) => new Date(x).toISOString())).toEqual([
      "2025-07-02T10:00:00.000Z",
      "2025-07-02T12:00:00.000Z",
      "2026-07-02T11:00:00.000Z",
    ]);
  });

  it("an event in 2100 costs as few visits", () => {
    const events = [smsEvent("2025-07-02T09:30:00Z"), smsEvent("2100-01-01T10:30:00Z")];
    const b = reportingBoundaries(
      azure({ "sms.mt": "sms_mt" }),
      events,
      at("2025-07-02T09:05:00Z"),
      at("2100-01-02T00:00:00Z"),
    );
    expect(b).toHaveLength(2);
  });

  it("months that begin with carried-over charges (an active number) are visited at their first hour", () => {
    const number = ev(
      "resource.activated",
      "2025-07-02T09:30:00Z",
      { resourceId: "n1", resourceType: "number", numberType: "long", country: "US" },
      { subject: "contoso" },
    );
    const b = reportingBoundaries(
      azure({ "number.monthly": "numbers" }),
      [number],
      at("2025-07-02T09:05:00Z"),
      at("2025-09-15T00:00:00Z"),
    );
    expect(b.map((x) => new Date(x).toISOString())).toEqual([
      "2025-07-02T10:00:00.000Z",
      "2025-08-01T01:00:00.000Z",
      "2025-09-01T01:00:00.000Z",
    ]);
    expect(b.every((x) => x % HOUR === 0)).toBe(true);
  });
});

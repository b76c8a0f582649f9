/**
 * The Lambda edges: the SQS batch loop reports partial failures like Powertools'
 * processPartialResponse and throws when every record failed (a retry without an error is no
 * failure); each function's environment schema requires what that function cannot run without;
 * the close scheduler counts accounts enqueued past the overdue hours.
 */
import type { SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { overdueAccounts } from "../../shared/core/close-schedule.js";
import {
  ConfigurationError,
  closeSchedulerEnvironmentSchema,
  deadLetterEnvironmentSchema,
  marketplaceEnvironmentSchema,
  parseEnvironment,
} from "../../shared/runtime/environment.js";
import { processSqsRecords, SqsBatchFailedError } from "../../shared/runtime/sqs-batch.js";

const records = (...ids: string[]) => ids.map((messageId) => ({ messageId, body: messageId }) as SQSRecord);

describe("processSqsRecords", () => {
  const errors: string[] = [];
  const handle = async (r: SQSRecord) => {
    if (r.body.startsWith("fail")) throw new Error(`broken ${r.body}`);
    return r.body.startsWith("held") ? ("retry" as const) : ("done" as const);
  };
  const onError = (r: SQSRecord) => errors.push(r.messageId);

  it("returns failed and retried records as batch item failures, acknowledges the rest", async () => {
    errors.length = 0;
    const r = await processSqsRecords(records("ok-1", "fail-1", "held-1", "ok-2"), handle, onError);
    expect(r.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["fail-1", "held-1"]);
    expect(errors).toEqual(["fail-1"]);
  });

  it("throws when every record failed, with the first error as cause", async () => {
    const p = processSqsRecords(records("fail-1", "fail-2"), handle, () => undefined);
    await expect(p).rejects.toBeInstanceOf(SqsBatchFailedError);
    await expect(p).rejects.toMatchObject({ failed: 2, cause: { message: "broken fail-1" } });
  });

  it("does not throw when every record is only retried (held elsewhere), nor for an empty batch", async () => {
    const r = await processSqsRecords(records("held-1", "held-2"), handle, onError);
    expect(r.batchItemFailures).toHaveLength(2);
    expect((await processSqsRecords([], handle, onError)).batchItemFailures).toEqual([]);
  });

  it("does not throw when one record of many succeeded", async () => {
    const r = await processSqsRecords(records("fail-1", "fail-2", "ok"), handle, () => undefined);
    expect(r.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["fail-1", "fail-2"]);
  });
});

describe("function environments", () => {
  const base = { BILLING_TABLE: "billing" };
  it("each schema requires its function's own variables and names what is missing", () => {
    expect(() => parseEnvironment(closeSchedulerEnvironmentSchema, base)).toThrow(/CLOSE_QUEUE_URL/);
    expect(() => parseEnvironment(deadLetterEnvironmentSchema, base)).toThrow(/USAGE_QUEUE_URL/);
    expect(() => parseEnvironment(marketplaceEnvironmentSchema, base)).toThrow(ConfigurationError);
    expect(() => parseEnvironment(closeSchedulerEnvironmentSchema, {})).toThrow(/BILLING_TABLE/);
  });
  it("applies the defaults of the base and of the function", () => {
    const env = parseEnvironment(closeSchedulerEnvironmentSchema, {
      ...base,
      CLOSE_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/1/close",
    });
    expect(env).toMatchObject({
      AWS_REGION: "us-east-1",
      CONFIG_CACHE_SECONDS: 60,
      CLOSE_GRACE_HOURS: 2,
      CLOSE_OVERDUE_HOURS: 6,
    });
  });
});

describe("overdueAccounts", () => {
  // July ends 2025-08-01T00:00Z in UTC and 2025-07-31T10:00Z in Pacific/Kiritimati (UTC+14).
  const fanOuts = [
    { zone: "UTC", period: "2025-07", enqueued: 3 },
    { zone: "Pacific/Kiritimati", period: "2025-07", enqueued: 5 },
  ];
  it("counts the accounts enqueued at or after their period end plus the overdue hours, per zone", () => {
    expect(overdueAccounts(Date.parse("2025-08-01T05:59:59Z"), fanOuts, 6)).toBe(5);
    expect(overdueAccounts(Date.parse("2025-08-01T06:00:00Z"), fanOuts, 6)).toBe(8);
    expect(overdueAccounts(Date.parse("2025-07-31T15:59:59Z"), fanOuts, 6)).toBe(0);
  });
});

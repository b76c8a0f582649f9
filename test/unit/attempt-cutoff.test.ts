/**
 * The take-over cut-off of a dead ingest attempt is derived from the ingest function's timeout (at
 * least 3 timeouts), not a free setting: the environment carries the timeout (infra sets it from the
 * function, test/infra/alarms.test.ts), refuses the old ATTEMPT_CUTOFF_SECONDS, and the store refuses
 * a cut-off shorter than 3 timeouts.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { ingestDeps } from "../../functions/ingest-usage/handler.js";
import {
  ATTEMPT_CUTOFF_TIMEOUTS,
  attemptCutoffMsFor,
  DynamoUsageStore,
  MIN_ATTEMPT_CUTOFF_TIMEOUTS,
} from "../../shared/adapters/dynamodb/usage-store.js";
import {
  ConfigurationError,
  ingestEnvironmentSchema,
  parseEnvironment,
} from "../../shared/runtime/environment.js";

const client = new DynamoDBClient({ region: "us-east-1" });
const env = (over: Record<string, string>) =>
  parseEnvironment(ingestEnvironmentSchema, { BILLING_TABLE: "t", ...over });

describe("the take-over cut-off", () => {
  it("is at least 3 ingest timeouts", () => {
    expect(ATTEMPT_CUTOFF_TIMEOUTS).toBeGreaterThanOrEqual(MIN_ATTEMPT_CUTOFF_TIMEOUTS);
    expect(MIN_ATTEMPT_CUTOFF_TIMEOUTS).toBe(3);
    expect(attemptCutoffMsFor(30_000)).toBe(120_000);
    expect(attemptCutoffMsFor(45_000)).toBeGreaterThanOrEqual(3 * 45_000);
  });

  it("follows the timeout the environment gives the function (default 30 s)", () => {
    const deps = (e: ReturnType<typeof env>) =>
      (
        ingestDeps(e, { dynamo: client, endpoints: { region: "us-east-1" }, trace: (c) => c })
          .usage as DynamoUsageStore
      ).cutoffMs;
    expect(env({}).INGEST_TIMEOUT_SECONDS).toBe(30);
    expect(deps(env({}))).toBe(120_000);
    expect(deps(env({ INGEST_TIMEOUT_SECONDS: "60" }))).toBe(240_000);
  });

  it("is no setting: the old variable and a bad timeout are refused at start-up", () => {
    expect(() => env({ ATTEMPT_CUTOFF_SECONDS: "120" })).toThrow(
      /ATTEMPT_CUTOFF_SECONDS: no longer a setting/,
    );
    expect(() => env({ INGEST_TIMEOUT_SECONDS: "0" })).toThrow(ConfigurationError);
    expect(() => env({ INGEST_TIMEOUT_SECONDS: "901" })).toThrow(/INGEST_TIMEOUT_SECONDS/);
    expect(() => env({ INGEST_TIMEOUT_SECONDS: "2.5" })).toThrow(/INGEST_TIMEOUT_SECONDS/);
  });

  it("the store refuses a cut-off shorter than 3 timeouts of the function it serves", () => {
    expect(
      () => new DynamoUsageStore(client, "t", { ingestTimeoutMs: 30_000, attemptCutoffMs: 89_999 }),
    ).toThrow(/at least 3 ingest timeouts/);
    expect(
      new DynamoUsageStore(client, "t", { ingestTimeoutMs: 30_000, attemptCutoffMs: 90_000 }).cutoffMs,
    ).toBe(90_000);
    expect(new DynamoUsageStore(client, "t", { ingestTimeoutMs: 10_000 }).cutoffMs).toBe(40_000);
  });
});

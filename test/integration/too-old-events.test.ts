/**
 * Rating-rules G5's 400 days through the real ingest and close on the local stack: identities are
 * remembered for 400 days after the event's time (their claims and attempt records carry that
 * TTL), and an event dated more than 400 days before its receipt is dead-lettered as too old. One
 * dated 399 days before its receipt is still billed: its period long closed, as an adjustment.
 */
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { attemptCommitItem, identityClaimItem } from "../../shared/adapters/dynamodb/items/usage.js";
import { DAY } from "../../shared/core/time.js";
import { configOf, stdTariffs, usageBody, useLocalSystem } from "../support/scenario.js";

const config = configOf(stdTariffs([{ product: "sms.mt", match: { country: "TR" }, unitPrice: "0.05" }]));
const sms = (id: string, time: string) =>
  usageBody("sms.mt", time, { to: "905550000000", country: "TR", status: "submitted" }, { id });
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

describe("G5: events older than 400 days at receipt", () => {
  const scenario = useLocalSystem({ at: "2025-01-01T00:00:00Z", config });

  it("401 days before its receipt: dead-lettered as too old; 399 days: billed as an adjustment of its closed period", async () => {
    scenario.travelTo("2025-01-25T12:00:00Z");
    expect(await scenario.ingest([sms("jan-1", "2025-01-25T10:00:00Z")])).toMatchObject({
      stored: 1,
      failed: 0,
    });
    await scenario.closeAt("2025-02-01T13:00:00Z", "2025-01", ["acme"]);

    const receipt = Date.parse("2026-02-23T10:00:00Z");
    scenario.travelTo(iso(receipt));
    const at399 = iso(receipt - 399 * DAY); // 2025-01-20T10:00:00Z: January 2025, closed
    const at401 = iso(receipt - 401 * DAY); // 2025-01-18T10:00:00Z
    expect(await scenario.ingest([sms("late-399", at399), sms("late-401", at401)])).toMatchObject({
      stored: 1,
      "dead-lettered": 1,
      failed: 0,
    });
    const letters = await scenario.system.store.list();
    expect(letters.map((l) => [JSON.parse(l.body ?? "{}").id, l.reason.split(":")[0]])).toEqual([
      ["late-401", "too old"],
    ]);

    // The accepted one's claim is remembered 400 days after its time (and a day's margin), its
    // attempt record at least as long: a re-delivery before then is found, never counted twice.
    const claim = await scenario.system.dynamodb.send(
      new GetItemCommand({
        TableName: scenario.system.tableName,
        Key: identityClaimItem.av.key({ identity: JSON.stringify(["/gw", "late-399"]) }),
        ConsistentRead: true,
      }),
    );
    const { expiresAt, owner } = identityClaimItem.av.decode(claim.Item!);
    expect(expiresAt).toBe((Date.parse(at399) + 401 * DAY) / 1000);
    const attempt = await scenario.system.dynamodb.send(
      new GetItemCommand({
        TableName: scenario.system.tableName,
        Key: attemptCommitItem.av.key({ attempt: owner }),
        ConsistentRead: true,
      }),
    );
    expect(attemptCommitItem.av.decode(attempt.Item!).expiresAt).toBeGreaterThanOrEqual(expiresAt);

    await scenario.closeAt("2026-03-01T13:00:00Z", "2026-02", ["acme"]);
    const lines = await scenario.lines({ accountId: "acme" });
    expect(
      lines.map((l) => [l.period, l.line_type, l.reference_period, l.product, l.quantity, l.amount]),
    ).toEqual([
      ["2025-01", "usage", "2025-01", "sms.mt", "1", "0.05"],
      ["2026-02", "adjustment", "2025-01", "sms.mt", "1", "0.05"],
    ]);
  });
});

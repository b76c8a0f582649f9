/**
 * Freshness for every event: counted events (summed in counters, never kept raw) record their
 * newest event time in the same counter update, so the month-to-date preview and the usage endpoint
 * say how recent the figures are even when an account sends nothing but counted traffic.
 */
import { describe, expect, it } from "vitest";
import { httpApiEvent } from "../../local/finance-api-server.js";
import { createStreamingFinanceApi } from "../../shared/app/finance-api.js";
import { ingestUsageMessage } from "../../shared/app/ingest-usage.js";
import { previewPeriod } from "../../shared/app/preview-period.js";
import type { BillingConfig } from "../../shared/core/config.js";
import { configuredTable } from "../support/close-store.js";
import { configOf, stdTariffs, useDynamoDbLocal } from "../support/scenario.js";

const tariffs = stdTariffs([
  { product: "sms.mt", unitPrice: "0.012" },
  { product: "viber.message", unitPrice: "0.0125" },
]);
const config: BillingConfig = { tariffs, accounts: configOf(tariffs).accounts };
let seq = 0;
const sms = (time: string, country = "TR") => ({
  specversion: "1.0",
  id: `f${++seq}`,
  source: "/gw",
  type: "sms.mt",
  subject: "acme",
  time,
  data: { to: "x", country, status: "submitted" },
});

describe("preview freshness from counted events", () => {
  const dynamo = useDynamoDbLocal();

  it("newestEventAt is the newest counted event's time, in the preview and the usage endpoint", async () => {
    const { store, deps } = await configuredTable(dynamo, "fresh", config, "2025-07-20T00:00:00Z");
    expect((await previewPeriod("acme", "2025-07", deps)).newestEventAt).toBeNull();

    // One batch, out of time order, two counters (TR and DE): the batch's newest is 15:30 (DE).
    await ingestUsageMessage(
      JSON.stringify([
        sms("2025-07-03T10:00:00Z"),
        sms("2025-07-03T15:30:00Z", "DE"),
        sms("2025-07-03T12:00:00Z"),
      ]),
      "m1",
      deps,
    );
    const first = await previewPeriod("acme", "2025-07", deps);
    expect(first.events).toBe(3);
    expect(first.newestEventAt).toBe("2025-07-03T15:30:00.000Z");

    // A later message with a newer event on the TR counter moves it forward.
    await ingestUsageMessage(JSON.stringify(sms("2025-07-04T08:15:00Z")), "m2", deps);
    const later = await previewPeriod("acme", "2025-07", deps);
    expect(later.newestEventAt).toBe("2025-07-04T08:15:00.000Z");
    // A counter write records no time at all: a close still rates the same lines.
    expect(later.lines.map((l) => [l.product, l.dimensions, l.quantity])).toEqual([
      ["sms.mt", "country=DE", "1"],
      ["sms.mt", "country=TR", "3"],
    ]);

    // Another period's counters are not this one's freshness.
    await ingestUsageMessage(JSON.stringify(sms("2025-06-30T23:00:00Z")), "m3", deps);
    expect((await previewPeriod("acme", "2025-06", deps)).newestEventAt).toBe("2025-06-30T23:00:00.000Z");
    expect((await previewPeriod("acme", "2025-07", deps)).newestEventAt).toBe("2025-07-04T08:15:00.000Z");

    // The finance API's usage route answers the same figure.
    const api = createStreamingFinanceApi({ periods: store, usage: store.usage, config: async () => config });
    const r = await api(
      httpApiEvent({ method: "GET", url: "/accounts/acme/usage?period=2025-07", headers: {} }),
    );
    expect("statusCode" in r && r.statusCode).toBe(200);
    const body = JSON.parse(String("body" in r ? r.body : "")) as { newestEventAt: string | null };
    expect(body.newestEventAt).toBe("2025-07-04T08:15:00.000Z");
  });
});

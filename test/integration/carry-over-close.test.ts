/**
 * Carry-over snapshots on DynamoDB Local: a Viber session and a WhatsApp CSW opened at the end of
 * June are carried into July by the snapshot June's close writes; July's month-to-date preview
 * equals its close when nothing else arrives; an empty month still bills its package fee.
 */
import { describe, expect, it } from "vitest";
import { closePeriod } from "../../shared/app/close-period.js";
import { ingestUsageMessage } from "../../shared/app/ingest-usage.js";
import { previewPeriod } from "../../shared/app/preview-period.js";
import { isCloseReport } from "../../shared/core/close-report.js";
import type { BillingConfig } from "../../shared/core/config.js";
import { configuredTable } from "../support/close-store.js";
import { configOf, stdTariffs, useDynamoDbLocal } from "../support/scenario.js";
import { allLines } from "../support/table-scans.js";

const tariffs = stdTariffs(
  [
    { product: "viber.message", unitPrice: "0.0125" },
    { product: "viber.session", unitPrice: "0.10" },
    { product: "whatsapp.template", unitPrice: "0.01" },
    { product: "sms.mt", unitPrice: "0.012" },
  ],
  {
    packages: [
      { product: "moments.engaged_people", includedQuantity: 10, fee: "20.00", overageUnitPrice: "0.15" },
    ],
  },
);
const config: BillingConfig = {
  tariffs,
  accounts: configOf(tariffs).accounts,
};
let seq = 0;
const event = (type: string, time: string, data: Record<string, unknown>) =>
  JSON.stringify({ specversion: "1.0", id: `e${++seq}`, source: "/gw", type, subject: "acme", time, data });

describe("carry-over: a close reads one period and its snapshot", () => {
  const dynamo = useDynamoDbLocal();

  it("carries a Viber session and a WhatsApp CSW across the edge; preview = close; an empty month bills its fee", async () => {
    const { store, clock, deps } = await configuredTable(dynamo, "carry", config, "2025-07-01T03:00:00Z");
    const bodies = [
      event("viber.inbound", "2025-06-30T22:00:00Z", { endUserId: "u1", serviceId: "svc" }),
      event("whatsapp.inbound", "2025-06-30T23:00:00Z", { endUserId: "u1", senderId: "wa" }),
      event("viber.message", "2025-07-01T01:00:00Z", {
        endUserId: "u1",
        serviceId: "svc",
        messageType: "session",
        delivered: true,
      }),
      event("whatsapp.message", "2025-07-01T02:00:00Z", {
        endUserId: "u1",
        senderId: "wa",
        kind: "template",
        category: "utility",
        delivered: true,
      }),
      event("sms.mt", "2025-07-02T09:00:00Z", { to: "x", country: "TR", status: "submitted" }),
    ];
    for (const [i, b] of bodies.entries()) await ingestUsageMessage(b, `m${i}`, deps);

    clock.advanceTo(Date.parse("2025-07-02T00:00:00Z"));
    const june = await closePeriod("2025-06", deps);
    expect(june.every(isCloseReport)).toBe(true);
    // June's close wrote the snapshot at July's start: the open session and the CSW.
    const snapshot = await store.usage.snapshotAt("acme", "2025-07");
    expect(snapshot?.events.map((e) => e.type).sort()).toEqual(["viber.inbound", "whatsapp.inbound"]);

    clock.advanceTo(Date.parse("2025-08-01T03:00:00Z"));
    const preview = await previewPeriod("acme", "2025-07", deps);
    expect(preview.newestEventAt).toBe("2025-07-01T02:00:00.000Z");
    const [july] = await closePeriod("2025-07", deps);
    if (!july || !isCloseReport(july)) throw new Error("July not closed");
    const closed = (await allLines(store)).filter((l) => l.period === "2025-07");
    const view = (ls: typeof closed) =>
      ls.map((l) => `${l.line_type} ${l.product} ${l.dimensions} ${l.quantity} ${l.amount}`).sort();
    expect(view(preview.lines)).toEqual(view(closed));
    expect(preview.amount).toBe(july.totals.amount);
    // The session message was covered by June's session, the utility template was inside the CSW.
    expect(view(closed).filter((l) => l.includes("viber") || l.includes("whatsapp"))).toEqual([]);

    // August: no usage at all; the package fee is still billed.
    clock.advanceTo(Date.parse("2025-09-01T03:00:00Z"));
    const [august] = await closePeriod("2025-08", deps);
    if (!august || !isCloseReport(august)) throw new Error("August not closed");
    const fees = (await allLines(store)).filter(
      (l) => l.period === "2025-08" && l.line_type === "package_fee",
    );
    expect(fees.map((l) => l.amount)).toEqual(["20.00"]);
    expect(await store.usage.snapshotAt("acme", "2025-09")).toBeDefined();
  });
});

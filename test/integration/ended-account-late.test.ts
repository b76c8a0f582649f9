/**
 * An ended account's late event, arriving after its last close, is billed (contract §2, G7), on the
 * embedded local stack (DynamoDB Local, the SQS server, the real ingest, close-scheduler and
 * close-worker handlers):
 * - `gone` has an SMS and an active number in June; June is closed by the hourly run of 1 July;
 *   the load of 3 July omits it (ended then); July, which contains the end, is still closed in
 *   full (the number's fee) though `gone` had no usage in it;
 * - on 10 August an SMS dated 20 June (before the end) arrives: stored, late; one dated 10 July
 *   (after the end) is refused as `account ended`;
 * - the period it arrived in (August, UTC) is entered for a close: the first hourly run after
 *   August's end plus the grace closes it with exactly that SMS as an adjustment of June, and no
 *   charge of August itself (the number's monthly fee: the account was no customer then);
 * - it is in the period index and the finance API like any close; a second run bills nothing more.
 */

import { describe, expect, it } from "vitest";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import { unclosedAccountClosedAt } from "../support/close-store.js";
import { apiEvent, financeApiOver } from "../support/finance-api.js";
import { configOf, stdTariffs, usageBody, useLocalSystem } from "../support/scenario.js";

const tariffs = stdTariffs(
  [
    { product: "sms.mt", unitPrice: "0.05" },
    { product: "number.monthly", unitPrice: "2.00" },
  ],
  { effectiveFrom: "2024-12-01T00:00:00Z" },
);
const BOTH = configOf(tariffs, ["stay", "gone"]);
/** `gone` omitted: ended at this load (contract §2). */
const WITHOUT_GONE = configOf(tariffs, ["stay"]);

const sms = (id: string, time: string) =>
  usageBody("sms.mt", time, { to: id, country: "TR", status: "submitted" }, { id, subject: "gone" });
const number = usageBody(
  "resource.activated",
  "2025-06-02T09:00:00Z",
  { resourceId: "num-1", resourceType: "number", numberType: "long", country: "DE" },
  { id: "num-on", subject: "gone" },
);

const view = (l: InvoiceLine) =>
  `${l.period} ${l.reference_period} ${l.line_type} ${l.product} ${l.quantity} ${l.amount}`;

describe("an ended account's late event after its last close is billed (contract §2)", () => {
  const scenario = useLocalSystem({ at: "2025-05-31T00:00:00Z", config: BOTH });
  const at = (time: string) => scenario.travelTo(time);

  it("the period it arrives in is closed with only the adjustment; a second run bills nothing more", async () => {
    at("2025-06-10T00:00:00Z");
    expect(await scenario.ingest([number, sms("jun-5", "2025-06-05T10:00:00Z")])).toMatchObject({
      stored: 2,
    });
    at("2025-07-01T03:00:00Z");
    await scenario.system.runCloseScheduler(2, 6);
    await scenario.system.drainCloses();
    expect((await scenario.lines({ accountId: "gone" })).map(view).sort()).toEqual([
      "2025-06 2025-06 recurring number.monthly 1 2.00",
      "2025-06 2025-06 usage sms.mt 1 0.05",
    ]);

    at("2025-07-03T00:00:00Z");
    await scenario.system.loadConfig(WITHOUT_GONE);

    // July, which contains the end, is closed in full by the first run after its end, although
    // `gone` had no usage in it and the zone fan-out no longer lists it (the load entered it in the
    // unclosed index): the number was active until the end, its monthly fee is billed.
    at("2025-08-01T03:00:00Z");
    await scenario.system.runCloseScheduler(2, 6);
    await scenario.system.drainCloses();
    expect((await scenario.lines({ period: "2025-07", accountId: "gone" })).map(view)).toEqual([
      "2025-07 2025-07 recurring number.monthly 1 2.00",
    ]);

    at("2025-08-10T00:00:00Z");
    const before = await scenario.system.store.list();
    const r = await scenario.ingest([
      sms("jun-20-late", "2025-06-20T10:00:00Z"),
      sms("jul-10", "2025-07-10T10:00:00Z"),
    ]);
    expect(r).toMatchObject({ stored: 1, "dead-lettered": 1 });
    const letters = (await scenario.system.store.list()).filter(
      (l) => !before.some((b) => b.deadLetterId === l.deadLetterId),
    );
    expect(letters.map((l) => l.reason)).toEqual([expect.stringMatching(/^account ended: "gone"/)]);

    // August has not ended: nothing to close yet.
    at("2025-08-10T05:00:00Z");
    await scenario.system.runCloseScheduler(2, 6);
    await scenario.system.drainCloses();
    expect(await scenario.system.store.getClose("gone", "2025-08")).toBeUndefined();

    // The first hourly run after August's end + 2 h grace + 1 h closes it from the unclosed index.
    const august = await unclosedAccountClosedAt(scenario, "2025-09-01T03:00:00Z", "gone", "2025-08");
    expect(august?.status).toBe("closed");
    const augustLines = await scenario.lines({ period: "2025-08", accountId: "gone" });
    // Exactly the late SMS, as June's adjustment; no monthly fee of August for the still active number.
    expect(augustLines.map(view)).toEqual(["2025-08 2025-06 adjustment sms.mt 1 0.05"]);
    const report = (await scenario.system.store.getClose("gone", "2025-08"))?.report;
    expect(report).toMatchObject({
      totals: { amount: "0.05" },
      adjustments: [{ referencePeriod: "2025-06", amount: "0.05", lines: 1 }],
    });

    // In the period index and the finance API like any close.
    expect(await scenario.system.store.closedAccount("gone", "2025-08")).toBeDefined();
    const api = financeApiOver(scenario.system.store);
    const all = await api(apiEvent("/periods/2025-08/invoice-lines", "format=json"));
    expect(all.statusCode).toBe(200);
    const body = JSON.parse(String(all.body)) as { lines: InvoiceLine[] };
    expect(body.lines.filter((l) => l.account_id === "gone").map(view)).toEqual([
      "2025-08 2025-06 adjustment sms.mt 1 0.05",
    ]);

    // A second run: nothing left to request for it, nothing more billed.
    at("2025-09-01T04:00:00Z");
    await scenario.system.runCloseScheduler(2, 6);
    await scenario.system.drainCloses();
    expect((await scenario.system.store.unclosed.unclosedUsage("2025-08")).map((u) => u.accountId)).toEqual(
      [],
    );
    expect((await scenario.lines({ accountId: "gone" })).map(view).sort()).toEqual([
      "2025-06 2025-06 recurring number.monthly 1 2.00",
      "2025-06 2025-06 usage sms.mt 1 0.05",
      "2025-07 2025-07 recurring number.monthly 1 2.00",
      "2025-08 2025-06 adjustment sms.mt 1 0.05",
    ]);
  });
});

/**
 * Accounts leave and arrive without loss (issue 21 items 3 and 4; contract §2, rating-rules G5), on
 * the embedded local stack (DynamoDB Local, the SQS server, the real ingest, close-scheduler and
 * close-worker handlers), along one timeline from May to September 2025:
 * - a time zone changed mid-year (UTC → Asia/Tokyo, loaded 15 June): June is rated in UTC, July in
 *   Tokyo time, June ends where July starts (30 June 15:00Z); a late event of May after the change is
 *   May's (billed as an adjustment), nothing lost or doubled;
 * - an account removed (ended) between its usage and its close is closed with its last version by
 *   the hourly scheduler (from the unclosed-usage index) and its lines are in the finance API; its
 *   event after the end is refused as `account ended`;
 * - an account added after its zone's fan-out is closed by the next hourly run; one never closed
 *   counts as overdue (CloseOverdue) N hours after its period's end plus the grace;
 * - a close request for an account with no configuration at all is suspended, not dropped;
 * - a conflict whose first copy's period is closed is in the next close report and in the listing.
 */

import type { SQSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { createCloseWorkerHandler } from "../../functions/close-worker/handler.js";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import type { AccountCloseReport } from "../../shared/core/close-report.js";
import { storeDeps } from "../../shared/runtime/wiring.js";
import { unclosedAccountClosedAt } from "../support/close-store.js";
import { apiEvent, financeApiOver } from "../support/finance-api.js";
import { configOf, stdTariffs, usageBody, useLocalSystem } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }], {
  effectiveFrom: "2024-12-01T00:00:00Z",
});
const UTC_ALL = configOf(tariffs, ["acme", "gone", "tz"]);
const TOKYO = configOf(tariffs, ["acme", "gone", { accountId: "tz", timezone: "Asia/Tokyo" }]);
/** `gone` omitted: ended at this load (contract §2). */
const WITHOUT_GONE = configOf(tariffs, ["acme", { accountId: "tz", timezone: "Asia/Tokyo" }]);
const WITH_NEWBIE = configOf(tariffs, ["acme", { accountId: "tz", timezone: "Asia/Tokyo" }, "newbie"]);
const WITH_LATER = configOf(tariffs, [
  "acme",
  { accountId: "tz", timezone: "Asia/Tokyo" },
  "newbie",
  "later",
]);

const sms = (id: string, subject: string, time: string, country = "TR") =>
  usageBody("sms.mt", time, { to: id, country, status: "submitted" }, { id, subject });

const quantity = (lines: readonly InvoiceLine[], ref?: string) =>
  lines
    .filter((l) => l.product === "sms.mt" && (ref === undefined || l.reference_period === ref))
    .reduce((n, l) => n + Number(l.quantity), 0);

describe("accounts leave and arrive without loss (contract §2)", () => {
  const scenario = useLocalSystem({ at: "2025-05-01T00:00:00Z", config: UTC_ALL });
  const { clock } = scenario;
  const at = (time: string) => scenario.travelTo(time);
  const load = (config: typeof UTC_ALL) => scenario.system.loadConfig(config);
  const reportOf = async (accountId: string, period: string) =>
    (await scenario.system.store.getClose(accountId, period))?.report as AccountCloseReport | undefined;

  it("a time-zone change mid-year: each period closed in the zone in force for it, nothing lost or doubled", async () => {
    at("2025-05-20T00:00:00Z");
    await scenario.ingest([sms("tz-may20", "tz", "2025-05-20T10:00:00Z")]);
    await scenario.closeAt("2025-06-01T03:00:00Z", "2025-05");

    // Loaded on 15 June: June began in UTC before the load, so June stays UTC; July is Tokyo time.
    at("2025-06-15T00:00:00Z");
    await load(TOKYO);
    at("2025-06-16T00:00:00Z");
    // 31 May 20:00Z is June 1st in Tokyo, but May in UTC, the zone May was rated in: May's, late.
    const late = await scenario.ingest([
      sms("tz-may31", "tz", "2025-05-31T20:00:00Z"),
      sms("tz-jun10", "tz", "2025-06-10T10:00:00Z"),
    ]);
    expect(late.stored).toBe(2);
    at("2025-07-01T01:00:00Z");
    // June ends where July starts in Tokyo: 30 June 15:00Z.
    await scenario.ingest([
      sms("tz-jun30a", "tz", "2025-06-30T14:59:59Z"),
      sms("tz-jun30b", "tz", "2025-06-30T15:00:00Z"),
    ]);
    const [june] = await scenario.closeAt("2025-07-01T03:00:00Z", "2025-06", ["tz"]);
    expect(june?.status).toBe("closed");
    const juneLines = await scenario.lines({ period: "2025-06", accountId: "tz" });
    expect(quantity(juneLines, "2025-06")).toBe(2); // 10 June, 30 June 14:59:59Z
    expect(quantity(juneLines, "2025-05")).toBe(1); // the late 31 May event, an adjustment of May
    expect(juneLines.find((l) => l.reference_period === "2025-05")?.line_type).toBe("adjustment");
    // July (Tokyo) is checked with the other July closes below.
  });

  it("an account removed between its usage and its close is closed with its last configuration, in the finance API; its event after the end is refused as `account ended`", async () => {
    at("2025-07-10T00:00:00Z");
    await scenario.ingest([
      sms("gone-1", "gone", "2025-07-09T10:00:00Z"),
      sms("gone-2", "gone", "2025-07-09T11:00:00Z"),
      sms("acme-x", "acme", "2025-07-05T10:00:00Z"),
    ]);
    at("2025-07-20T00:00:00Z");
    await load(WITHOUT_GONE);
    at("2025-07-25T00:00:00Z");
    const before = await scenario.system.store.list();
    const r = await scenario.ingest([
      sms("gone-before-end", "gone", "2025-07-15T10:00:00Z"),
      sms("gone-after-end", "gone", "2025-07-24T10:00:00Z"),
    ]);
    expect(r).toMatchObject({ stored: 1, "dead-lettered": 1 });
    const letters = (await scenario.system.store.list()).filter(
      (l) => !before.some((b) => b.deadLetterId === l.deadLetterId),
    );
    expect(letters).toHaveLength(1);
    expect(letters[0]?.reason).toMatch(/^account ended: "gone"/);

    at("2025-08-01T00:00:00Z");
    await scenario.ingest([
      sms("tz-jul31a", "tz", "2025-07-31T14:59:59Z"), // July in Tokyo
      sms("tz-jul31b", "tz", "2025-07-31T15:00:00Z"), // 1 August 00:00 in Tokyo
    ]);
    // The hourly run after July's end + 2 h grace + 1 h: the zone fan-out closes the configured
    // accounts, the unclosed-usage index the removed one.
    const gone = await unclosedAccountClosedAt(scenario, "2025-08-01T03:00:00Z", "gone", "2025-07");
    expect(gone?.status).toBe("closed");
    expect(quantity(await scenario.lines({ period: "2025-07", accountId: "gone" }))).toBe(3);
    expect((await reportOf("gone", "2025-07"))?.totals.amount).toBe("0.15");
    // tz's July, in Tokyo time: 30 June 15:00Z … 31 July 14:59:59Z; 31 July 15:00Z is August's.
    expect(quantity(await scenario.lines({ period: "2025-07", accountId: "tz" }))).toBe(2);
    expect((await scenario.system.store.usage.countersOf("tz", "2025-08")).events).toBe(1);
    // Nothing lost or doubled across the change: 7 sent = May 2 (one late, adjusted in June's close),
    // June 2, July 2 in lines, and August's 1 in its counters.
    const tzAll = await scenario.lines({ accountId: "tz" });
    expect(quantity(tzAll, "2025-05")).toBe(2);
    expect(quantity(tzAll)).toBe(6);

    // The finance API lists the period's accounts from its own index: the removed one is there.
    const api = financeApiOver(scenario.system.store);
    const all = await api(apiEvent("/periods/2025-07/invoice-lines", "format=json"));
    expect(all.statusCode).toBe(200);
    const body = JSON.parse(String(all.body)) as { lines: InvoiceLine[] };
    expect(quantity(body.lines.filter((l) => l.account_id === "gone"))).toBe(3);
    const one = await api(apiEvent("/periods/2025-07/invoice-lines", "format=json&accountId=gone"));
    expect(one.statusCode).toBe(200);
    const report = await api(apiEvent("/periods/2025-07/close-report", "accountId=gone"));
    expect(report.statusCode).toBe(200);
  });

  it("an account added after its zone's fan-out is closed by the next hourly run", async () => {
    at("2025-08-01T05:00:00Z");
    await load(WITH_NEWBIE);
    await scenario.ingest([sms("newbie-1", "newbie", "2025-07-30T10:00:00Z")]);
    expect(await scenario.system.store.getClose("newbie", "2025-07")).toBeUndefined();
    at("2025-08-01T06:00:00Z");
    const run = await scenario.system.runCloseScheduler(2, 6);
    // The UTC zone's July fan-out was done at 03:00: only the unclosed-usage index names newbie.
    expect(run.fannedOut.filter((f) => f.period === "2025-07")).toEqual([]);
    await scenario.system.drainCloses();
    expect((await scenario.system.store.getClose("newbie", "2025-07"))?.status).toBe("closed");
    expect(quantity(await scenario.lines({ period: "2025-07", accountId: "newbie" }))).toBe(1);
  });

  it("an account with usage not closed N hours after its period's end plus the grace is counted overdue", async () => {
    at("2025-08-01T07:00:00Z");
    await load(WITH_LATER);
    await scenario.ingest([sms("later-1", "later", "2025-07-30T10:00:00Z")]);
    // No run until 09:00: July ended at 00:00Z, + 2 h grace + 6 h = 08:00.
    at("2025-08-01T09:00:00Z");
    const late = await scenario.system.runCloseScheduler(2, 6);
    expect(late.overdue).toBe(1);
    await scenario.system.drainCloses();
    at("2025-08-01T10:00:00Z");
    expect((await scenario.system.runCloseScheduler(2, 6)).overdue).toBe(0);
  });

  it("a close request for an account with no configuration at all is suspended, not dropped", async () => {
    const deps = storeDeps(scenario.system.store, clock, () => scenario.system.store.loadConfig());
    const suspended: number[] = [];
    const r = await createCloseWorkerHandler(deps, { onBatch: (b) => suspended.push(b.suspended) })({
      Records: [{ messageId: "m1", body: JSON.stringify({ accountId: "nobody", period: "2025-07" }) }],
    } as unknown as SQSEvent);
    expect(r.batchItemFailures).toEqual([]);
    expect(suspended).toEqual([1]);
    const entry = (await scenario.system.store.unclosed.unclosedUsage("2025-07")).find(
      (u) => u.accountId === "nobody",
    );
    expect(entry?.suspended?.reason).toMatch(/not configured/);
    // Requested again by every hourly run (and counted overdue) until the account is configured.
    // Without usage behind it, it is due from July's latest end in any zone (12:00Z) + 2 h + 1 h.
    at("2025-08-01T15:00:00Z");
    expect((await scenario.system.runCloseScheduler(2, 6)).unclosed).toMatchObject({ suspended: 1 });
    await scenario.system.drainCloses();
  });

  it("a conflict whose first copy's period is closed is in the next close report and in the listing (G5)", async () => {
    at("2025-08-05T00:00:00Z");
    const r = await scenario.ingest([sms("acme-x", "acme", "2025-07-05T10:00:00Z", "DE")]);
    expect(r.conflict).toBe(1);
    const listed = await scenario.system.store.lateConflicts.listLateConflicts();
    expect(listed).toEqual([
      expect.objectContaining({ accountId: "acme", referencePeriod: "2025-07", source: "/gw", id: "acme-x" }),
    ]);
    const [august] = await scenario.closeAt("2025-09-01T03:00:00Z", "2025-08", ["acme"]);
    expect(august?.lateConflicts).toEqual({
      count: 1,
      referencePeriods: ["2025-07"],
      samples: [expect.objectContaining({ referencePeriod: "2025-07", source: "/gw", id: "acme-x" })],
    });
    // July's own report could not list it: it was closed before the conflict arrived.
    expect((await reportOf("acme", "2025-07"))?.conflicts.count).toBe(0);
    // Reported once: September's close does not list it again.
    const [september] = await scenario.closeAt("2025-10-01T03:00:00Z", "2025-09", ["acme"]);
    expect(september?.lateConflicts?.count).toBe(0);
  });
});

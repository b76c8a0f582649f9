/**
 * A product added in one folder goes through the real pipeline on DynamoDB Local: the fax test
 * product (test/support/products/fax/), registered as the registry registers the built-in families,
 * `productCatalogue([...builtInFamilies, fax])`, and handed to the use cases as their `products`.
 * Its messages are validated and ingested (the per-event `fax.sent` counted into monthly counters,
 * the `fax.mailbox` kept raw), journaled and folded (the deployed mode: ingest writes journals and
 * commits only), closed into invoice lines with explanations, the open mailbox carried across each
 * period start by the snapshot the close writes, and a late mailbox of a closed period re-rating
 * the later closed one it stays open through. The same message sent to a pipeline without the
 * family is dead-lettered with the unknown-type reason (docs/catalogue.md).
 */
import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { DynamoBillingStore } from "../../shared/adapters/dynamodb/billing-table.js";
import { type CloseDeps, closePeriod } from "../../shared/app/close-period.js";
import { type FoldDeps, foldAll } from "../../shared/app/fold-usage.js";
import { directoryOf, type IngestDeps, ingestBatch } from "../../shared/app/ingest-usage.js";
import type { InvoiceLine } from "../../shared/contract/invoice-line.js";
import { isCloseReport } from "../../shared/core/close-report.js";
import { type BillingConfig, parseAccounts, parseTariffs } from "../../shared/core/config.js";
import { compositeKey } from "../../shared/core/keys.js";
import { builtInFamilies, productCatalogue } from "../../shared/core/products/index.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { fax } from "../support/products/fax/index.js";
import { useDynamoDbLocal } from "../support/scenario.js";
import { allLines } from "../support/table-scans.js";

const products = productCatalogue([...builtInFamilies, fax]);

/** The fax tariff: what each line below is computed from by hand. */
const PAGE_TR = "0.05";
const PAGE_ANY = "0.08";
const MAILBOX = "2.00";
const SMS_TR = "0.01";
const tariffs = parseTariffs(
  [
    {
      tariffId: "fax",
      currency: "EUR",
      versions: [
        {
          publishedAt: "2024-12-01T00:00:00Z",
          effectiveFrom: "2025-01-01T00:00:00Z",
          rates: [
            { product: "fax.page", match: { country: "TR" }, unitPrice: PAGE_TR },
            { product: "fax.page", unitPrice: PAGE_ANY },
            { product: "fax.mailbox", unitPrice: MAILBOX },
            { product: "sms.mt", match: { country: "TR" }, unitPrice: SMS_TR },
          ],
        },
      ],
    },
  ],
  "fax tariffs",
  products,
);
const config: BillingConfig = {
  tariffs,
  accounts: parseAccounts([{ accountId: "acme", name: "Acme", currency: "EUR", tariffId: "fax" }], tariffs),
};

let seq = 0;
const message = (type: string, time: string, data: Record<string, unknown>) => {
  const id = `f${++seq}`;
  return {
    messageId: `m-${id}`,
    body: JSON.stringify({ specversion: "1.0", id, source: "/fax", type, subject: "acme", time, data }),
  };
};
const sent = (time: string, country: string, pages: number, status = "submitted") =>
  message("fax.sent", time, { to: `+${seq}`, country, pages, status });
const mailbox = (time: string, mailboxId: string, action: "opened" | "closed") =>
  message("fax.mailbox", time, { mailboxId, action });

/** A line as the test writes it by hand: the amount is quantity × unit price, rounded half-up once. */
const expected = (
  period: string,
  reference: string,
  lineType: string,
  product: string,
  dimensions: string,
  quantity: number,
  unitPrice: string,
) =>
  `${period} ${reference} ${lineType} ${product} ${dimensions} ${quantity} ${new Decimal(unitPrice).times(quantity).toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toFixed(2)}`;
const view = (lines: readonly InvoiceLine[]) =>
  lines
    .map(
      (l) =>
        `${l.period} ${l.reference_period} ${l.line_type} ${l.product} ${l.dimensions} ${l.quantity} ${l.amount}`,
    )
    .sort();

describe("a product added in one folder, through ingest → fold → close", () => {
  const dynamo = useDynamoDbLocal();
  let tables = 0;
  const pipeline = async (withFax: boolean) => {
    const { name } = await dynamo.table(`fax-${++tables}`);
    // The deployed mode: ingest writes journals and commits, the fold applies them.
    const store = new DynamoBillingStore(dynamo.client, name, { foldInline: false });
    const clock = new VirtualClock(Date.parse("2025-06-25T00:00:00Z"));
    const deps: CloseDeps & IngestDeps = {
      usage: store.usage,
      periods: store,
      deadLetters: store,
      explanations: store,
      clock,
      accounts: directoryOf(config),
      config: async () => config,
      ...(withFax ? { products } : {}),
    };
    const foldDeps: FoldDeps = { journal: store.usage.journal, periods: store, clock };
    const ingest = async (messages: { messageId: string; body: string }[]) => {
      const r = await ingestBatch(messages, deps);
      expect(r.failures).toEqual([]);
      expect(r.retry).toEqual([]);
      return r.outcomes;
    };
    /** Folds every shard; the (account, period) keys the fold found closed and marked late. */
    const fold = async () => new Set((await foldAll(foldDeps)).flatMap((r) => [...r.late]));
    const close = async (at: string, period: string) => {
      clock.advanceTo(Date.parse(at));
      const [report] = await closePeriod(period, deps);
      if (!report || !isCloseReport(report)) throw new Error(`${period} not closed`);
      return report;
    };
    return { store, clock, ingest, fold, close };
  };

  it("counts, carries, closes and adjusts the fax product's lines, priced from its tariff", async () => {
    const { store, clock, ingest, fold, close } = await pipeline(true);

    // June: a mailbox that stays open, one opened and closed, faxes to two destinations.
    const june = await ingest([
      mailbox("2025-06-10T08:00:00Z", "m1", "opened"),
      mailbox("2025-06-12T08:00:00Z", "m0", "opened"),
      sent("2025-06-15T09:00:00Z", "TR", 4),
      sent("2025-06-16T09:00:00Z", "DE", 1),
      mailbox("2025-06-20T08:00:00Z", "m0", "closed"),
    ]);
    expect(june.map((o) => o.kind)).toEqual(Array(5).fill("stored"));
    expect(await fold()).toEqual(new Set());
    // Folded: the faxes are monthly counters (never stored raw), the mailboxes raw events.
    const counters = await store.usage.countersOf("acme", "2025-06");
    expect(counters.events).toBe(2);
    expect(counters.counters.map((c) => `${c.product} ${c.dimensions.country} ${c.quantity}`).sort()).toEqual(
      ["fax.page DE 1", "fax.page TR 4"],
    );
    const raw = await store.usage.statefulEventsOf("acme", ["2025-06"]);
    expect(raw.map((e) => e.type)).toEqual(Array(3).fill("fax.mailbox"));

    const juneReport = await close("2025-07-01T03:00:00Z", "2025-06");
    expect(juneReport.totals.amount).toBe("4.28");
    // June's close wrote the snapshot at July's start: the mailbox still open.
    const snapshot = await store.usage.snapshotAt("acme", "2025-07");
    expect(
      snapshot?.events.map((e) => [e.type, (e.data as unknown as { mailboxId: string }).mailboxId]),
    ).toEqual([["fax.mailbox", "m1"]]);

    // July: faxes (one rejected: free), a mailbox opened and closed, an SMS of a built-in family.
    clock.advanceTo(Date.parse("2025-07-10T00:00:00Z"));
    await ingest([
      sent("2025-07-02T10:00:00Z", "TR", 3),
      sent("2025-07-03T10:00:00Z", "TR", 2),
      sent("2025-07-04T10:00:00Z", "TR", 9, "rejected"),
      mailbox("2025-07-05T08:00:00Z", "m2", "opened"),
      mailbox("2025-07-06T08:00:00Z", "m2", "closed"),
      message("sms.mt", "2025-07-07T10:00:00Z", { to: "+90 4", country: "TR", status: "submitted" }),
    ]);
    await fold();
    const julyReport = await close("2025-08-01T03:00:00Z", "2025-07");
    expect(julyReport.totals.amount).toBe("4.26");

    // Late, after both closes: a mailbox opened in June (its state is carried: it reaches July
    // too) and a June fax (counted: it changes June only).
    clock.advanceTo(Date.parse("2025-08-02T00:00:00Z"));
    const late = await ingest([
      mailbox("2025-06-28T08:00:00Z", "m3", "opened"),
      sent("2025-06-29T09:00:00Z", "TR", 6),
    ]);
    expect(late.map((o) => o.kind)).toEqual(["stored", "stored"]);
    expect(await fold()).toEqual(new Set([compositeKey("acme", "2025-06")]));
    expect((await store.latePeriods("acme")).map((l) => [l.period, l.later])).toEqual([["2025-06", true]]);
    const augustReport = await close("2025-09-01T03:00:00Z", "2025-08");
    expect(augustReport.adjustments.map((a) => [a.referencePeriod, a.amount])).toEqual([
      ["2025-06", "2.30"],
      ["2025-07", "2.00"],
    ]);

    const lines = await allLines(store);
    expect(view(lines)).toEqual(
      [
        // June: 4 TR pages, 1 DE page, mailboxes m1 and m0.
        expected("2025-06", "2025-06", "usage", "fax.page", "country=TR", 4, PAGE_TR),
        expected("2025-06", "2025-06", "usage", "fax.page", "country=DE", 1, PAGE_ANY),
        expected("2025-06", "2025-06", "recurring", "fax.mailbox", "", 2, MAILBOX),
        // July: 3 + 2 TR pages (the rejected fax is free), m1 (carried) and m2, the SMS.
        expected("2025-07", "2025-07", "usage", "fax.page", "country=TR", 5, PAGE_TR),
        expected("2025-07", "2025-07", "recurring", "fax.mailbox", "", 2, MAILBOX),
        expected("2025-07", "2025-07", "usage", "sms.mt", "country=TR", 1, SMS_TR),
        // August: m1 and m3 still open; June gains m3 and 6 TR pages, July m3.
        expected("2025-08", "2025-08", "recurring", "fax.mailbox", "", 2, MAILBOX),
        expected("2025-08", "2025-06", "adjustment", "fax.mailbox", "", 1, MAILBOX),
        expected("2025-08", "2025-06", "adjustment", "fax.page", "country=TR", 6, PAGE_TR),
        expected("2025-08", "2025-07", "adjustment", "fax.mailbox", "", 1, MAILBOX),
      ].sort(),
    );
    // Each line explains itself from the family's own catalogue row.
    const mailboxLine = lines.find((l) => l.period === "2025-07" && l.product === "fax.mailbox")!;
    const explanation = await store.explanation(mailboxLine.line_id);
    expect(explanation?.rule).toMatchObject({
      section: "(test product) fax",
      chargeableEvent: fax.products["fax.mailbox"].explanation.chargeableEvent,
    });
    expect(explanation?.derivation.summary).toMatch(/mailbox-month/);
  });

  it("dead-letters the same fax message with the unknown-type reason in a pipeline without the family", async () => {
    const withFax = await pipeline(true);
    const without = await pipeline(false);
    const fax = sent("2025-06-15T09:00:00Z", "TR", 4);
    expect(await withFax.ingest([fax])).toEqual([{ kind: "stored", accountId: "acme", late: false }]);
    // Without the family its type is not one the envelope accepts: the sender's fault, with a reason,
    // kept whole for an operator to redrive once the product is registered.
    const unknownType =
      /^invalid CloudEvents envelope: type: unknown event type "fax\.sent": not a product of the catalogue$/;
    expect(await without.ingest([fax])).toEqual([
      { kind: "dead-lettered", reason: expect.stringMatching(unknownType) },
    ]);
    const letters = await without.store.list();
    expect(letters.map((l) => [l.messageId, l.body])).toEqual([[fax.messageId, fax.body]]);
    expect(letters[0]?.reason).toMatch(unknownType);
    expect(await withFax.store.list()).toEqual([]);
    expect(await without.store.usage.usageMarkers("acme")).toEqual([]);
  });
});

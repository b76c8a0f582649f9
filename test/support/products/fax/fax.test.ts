/**
 * A product registered the way docs/catalogue.md tells a developer to add one: its own folder (this
 * one: schema, catalogue rows, rules, carrier, declaration) and one row, here the list handed to
 * `productCatalogue` as the registry hands it the built-in families. Its events are validated,
 * counted or carried, and rated into invoice lines by the real engine beside the built-in products.
 */
import { describe, expect, it } from "vitest";
import { instantOf } from "../../../../shared/contract/common.js";
import { InvalidUsageMessageError } from "../../../../shared/contract/usage-event.js";
import { parseTariffs } from "../../../../shared/core/config.js";
import {
  builtInFamilies,
  builtInProducts,
  changesLaterPeriods,
  ProductCatalogueError,
  productCatalogue,
} from "../../../../shared/core/products/index.js";
import { carryOver } from "../../../../shared/core/rating/carry.js";
import { type CounterDelta, contributionOf, mergeDeltas } from "../../../../shared/core/rating/counters.js";
import { periodsChangedBy, ratePeriod } from "../../../../shared/core/rating/engine.js";
import type { PricedLine } from "../../../../shared/core/rating/pricing.js";
import type { LedgerEvent } from "../../../../shared/core/rating/types.js";
import { account } from "../../events.js";
import { fax } from "./index.js";

const products = productCatalogue([...builtInFamilies, fax]);

let seq = 0;
/** A usage message body as the queue delivers it. */
const body = (type: string, time: string, data: Record<string, unknown>) =>
  JSON.stringify({ specversion: "1.0", id: `f${++seq}`, source: "/fax", type, subject: "acme", time, data });
/** Validated by the catalogue's own parser, with `t` as ingestion computes it. */
const ledger = (b: string): LedgerEvent => {
  const e = products.parseUsageMessage(b);
  return { ...e, t: instantOf(e.time) } as unknown as LedgerEvent;
};

const acme = account();
const [tariff] = parseTariffs(
  [
    {
      tariffId: "t1",
      currency: "EUR",
      versions: [
        {
          publishedAt: "2024-12-01T00:00:00Z",
          effectiveFrom: "2025-01-01T00:00:00Z",
          rates: [
            { product: "fax.page", match: { country: "TR" }, unitPrice: "0.05" },
            { product: "fax.mailbox", unitPrice: "2.00" },
            { product: "sms.mt", unitPrice: "0.01" },
          ],
        },
      ],
    },
  ],
  "fax tariffs",
  products,
);

const lineText = (l: PricedLine) =>
  `${l.lineType} ${l.product}${Object.keys(l.dimensions).length ? ` ${JSON.stringify(l.dimensions)}` : ""} ${l.quantity.toFixed()} ${l.unit} x ${l.unitPrice.toFixed()} = ${l.amount.toFixed(2)}`;

describe("a product registered in its own folder (test product: fax)", () => {
  it("joins the catalogue through the same factory as the built-in families, which stay as they were", () => {
    expect(products.productCodes).toEqual([...builtInProducts.productCodes, "fax.page", "fax.mailbox"]);
    expect(products.countedTypes.has("fax.sent")).toBe(true);
    expect(products.countedTypes.has("fax.mailbox")).toBe(false);
    expect(changesLaterPeriods("fax.mailbox", products)).toBe(true);
    expect(changesLaterPeriods("fax.sent", products)).toBe(false);
    expect(products.rules.slice(0, builtInProducts.rules.length)).toEqual(builtInProducts.rules);
    // The built-in catalogue does not know it: a fax message there is refused with a reason.
    const sent = body("fax.sent", "2025-07-02T10:00:00Z", {
      to: "+90",
      country: "TR",
      pages: 3,
      status: "submitted",
    });
    expect(builtInProducts.eventTypes).not.toContain("fax.sent");
    expect(() => builtInProducts.parseUsageMessage(sent)).toThrow(InvalidUsageMessageError);
    expect(products.parseUsageMessage(sent).type).toBe("fax.sent");
    expect(() =>
      products.parseUsageMessage(
        body("fax.sent", "2025-07-02T10:00:00Z", { to: "+90", country: "TR", pages: 0, status: "submitted" }),
      ),
    ).toThrow(/invalid data for fax\.sent: data\.pages/);
    // A tariff may price it; a match key that is not one of its dimensions is refused as for any product.
    expect(() =>
      parseTariffs(
        [
          {
            tariffId: "t2",
            currency: "EUR",
            versions: [
              {
                publishedAt: "2024-12-01T00:00:00Z",
                effectiveFrom: "2025-01-01T00:00:00Z",
                rates: [{ product: "fax.mailbox", match: { country: "TR" }, unitPrice: "1" }],
              },
            ],
          },
        ],
        "fax tariffs",
        products,
      ),
    ).toThrow(/"country" is not a pricing dimension of fax.mailbox/);
    expect(() => parseTariffs([{ ...tariff, versions: tariff!.versions }], "built-in tariffs")).toThrow(
      /unknown product "fax.page"/,
    );
  });

  it("is counted at ingest, carried across the period start and rated by the engine into its lines", () => {
    const events = [
      body("fax.mailbox", "2025-06-10T08:00:00Z", { mailboxId: "m1", action: "opened" }),
      body("fax.mailbox", "2025-06-12T08:00:00Z", { mailboxId: "m0", action: "opened" }),
      body("fax.mailbox", "2025-06-20T08:00:00Z", { mailboxId: "m0", action: "closed" }),
      body("fax.sent", "2025-07-02T10:00:00Z", { to: "+90 1", country: "TR", pages: 3, status: "submitted" }),
      body("fax.sent", "2025-07-03T10:00:00Z", { to: "+90 2", country: "TR", pages: 2, status: "submitted" }),
      body("fax.sent", "2025-07-04T10:00:00Z", { to: "+90 3", country: "TR", pages: 9, status: "rejected" }),
      body("fax.mailbox", "2025-07-05T08:00:00Z", { mailboxId: "m2", action: "opened" }),
      body("fax.mailbox", "2025-07-06T08:00:00Z", { mailboxId: "m2", action: "closed" }),
      body("sms.mt", "2025-07-07T10:00:00Z", { to: "+90 4", country: "TR", status: "submitted" }),
      body("fax.mailbox", "2025-08-01T00:00:00Z", { mailboxId: "m1", action: "closed" }),
    ].map(ledger);

    // Ingest's split: counted types become monthly counters, the rest stays raw.
    const counters: CounterDelta[] = [];
    let countedEvents = 0;
    const raw: LedgerEvent[] = [];
    for (const e of events) {
      const c = contributionOf(acme, tariff!, e, products);
      if (c.counted && c.period === "2025-07") {
        counters.push(...c.deltas);
        countedEvents += 1;
      } else if (!c.counted) raw.push(e);
    }
    expect(raw.map((e) => e.type)).not.toContain("fax.sent");
    expect(countedEvents).toBe(4);

    // The close's way: June's snapshot (the mailbox still open), July's raw events and counters.
    const snapshot = carryOver(acme, "2025-07", raw, undefined, products);
    expect(snapshot.events.map((e) => (e.data as { mailboxId?: string }).mailboxId)).toEqual(["m1"]);
    const july = ratePeriod({
      account: acme,
      tariff: tariff!,
      periodId: "2025-07",
      events: raw.filter((e) => e.t >= instantOf("2025-07-01T00:00:00Z")),
      counters: { counters: mergeDeltas(counters), events: countedEvents },
      carried: snapshot,
      products,
    });
    expect(july.lines.map(lineText).sort()).toEqual([
      "recurring fax.mailbox 2 mailbox-month x 2 = 4.00",
      'usage fax.page {"country":"TR"} 5 page x 0.05 = 0.25',
      'usage sms.mt {"country":"TR"} 1 message x 0.01 = 0.01',
    ]);
    expect(july.suspense).toEqual([]);
    // The same lines from the whole history, every event raw.
    const fromHistory = ratePeriod({ account: acme, tariff: tariff!, periodId: "2025-07", events, products });
    expect(fromHistory.lines.map(lineText).sort()).toEqual(july.lines.map(lineText).sort());
  });

  it("marks the periods a late event changes from its declaration", () => {
    const mailbox = ledger(
      body("fax.mailbox", "2025-06-10T08:00:00Z", { mailboxId: "m9", action: "opened" }),
    );
    const sent = ledger(
      body("fax.sent", "2025-06-10T08:00:00Z", { to: "+90", country: "TR", pages: 1, status: "submitted" }),
    );
    expect(periodsChangedBy(mailbox, "UTC", products)).toEqual(["2025-06"]);
    expect(changesLaterPeriods(mailbox.type, products)).toBe(true); // a closed July is re-rated too
    expect(periodsChangedBy(sent, "UTC", products)).toEqual(["2025-06"]);
    expect(changesLaterPeriods(sent.type, products)).toBe(false);
  });

  it("is refused at start-up when its declaration does not match its folder", () => {
    const unread = { ...fax, rules: fax.rules.slice(0, 1) };
    expect(() => productCatalogue([...builtInFamilies, unread])).toThrow(ProductCatalogueError);
    expect(() => productCatalogue([...builtInFamilies, unread])).toThrow(
      /read by no rule \(never billed\): fax\.mailbox/,
    );
    const twice = { ...fax, events: {}, rules: [], products: { "sms.mt": fax.products["fax.page"] } };
    expect(() => productCatalogue([...builtInFamilies, twice])).toThrow(
      /product "sms.mt" of fax is declared twice/,
    );
    const unknown = {
      ...fax,
      rules: [...fax.rules, { name: "typo", rate: fax.rules[0]!.rate, perEvent: ["fax.snet"] }],
    };
    expect(() => productCatalogue([...builtInFamilies, unknown])).toThrow(
      /names event type "fax.snet", which no family owns/,
    );
  });
});

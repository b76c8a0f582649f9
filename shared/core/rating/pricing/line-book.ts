/**
 * The line book: where every pricer writes its lines, and the one place where pricing rounds
 * (rating-rules G4: amounts exact until each line is rounded once, half-up, to the currency; unit
 * prices that a rule computes carry up to 6 decimals). No pricer rounds on its own.
 */
import type { LineType } from "../../../contract/invoice-line.js";
import { compositeKey } from "../../keys.js";
import { Dec, roundMoney, ZERO } from "../../money.js";
import type { Charge, Dimensions } from "../types.js";

/** A priced line of one reference period, before it gets its period, id and export form. */
export interface PricedLine {
  readonly lineType: LineType;
  readonly product: string;
  readonly dimensions: Dimensions;
  readonly quantity: Dec;
  readonly unitPrice: Dec;
  /** Rounded once to the currency's minor unit. */
  readonly amount: Dec;
  /** effectiveFrom of the tariff version used, "" when none applied. */
  readonly tariffVersion: string;
  readonly description: string;
  readonly unit: string;
}

/** What a pricer writes: a line's quantity at an exact unit price, not yet rounded. */
export interface LineDraft {
  readonly lineType: LineType;
  readonly product: string;
  readonly dimensions: Dimensions;
  readonly quantity: Dec;
  readonly unitPrice: Dec;
  /** effectiveFrom of the tariff version used, "" when none applied. */
  readonly tariffVersion: string;
  /** Replaces the line type in the description. */
  readonly note?: string;
  /** The line's unit when it is not the product's catalogue unit (a monthly fee: "month"). */
  readonly unit?: string;
}

/** Unit prices have up to 6 decimals (rating-rules G4). */
export const UNIT_PRICE_DECIMALS = 6;

/** An exact unit price a rule computes (a proration credit), to the 6 decimals G4 allows, half-up. */
export const roundUnitPrice = (exact: Dec): Dec =>
  exact.toDecimalPlaces(UNIT_PRICE_DECIMALS, Dec.ROUND_HALF_UP);

export const dimensionsKey = (d: Dimensions): string =>
  Object.keys(d)
    .sort()
    .map((k) => `${k}=${d[k]}`)
    .join(";");

export const describeProduct = (product: string, d: Dimensions): string => {
  const k = dimensionsKey(d);
  return k ? `${product} (${k})` : product;
};

type Entry = { -readonly [K in keyof LineDraft]: LineDraft[K] };

export class LineBook {
  private readonly entries = new Map<string, Entry>();
  private readonly exactByCommitment = new Map<string, Dec>();

  /** `unitOf`: a product's catalogue unit, the unit of its lines unless a draft names another. */
  constructor(private readonly unitOf: (product: string) => string) {}

  /** Adds a draft; drafts of the same line type, product, dimensions, version and unit price add up. */
  line(draft: LineDraft): void {
    // What a line groups by; the values stay in the entry.
    const key = compositeKey(
      draft.lineType,
      draft.product,
      dimensionsKey(draft.dimensions),
      draft.tariffVersion,
      draft.unitPrice.toFixed(),
    );
    const prev = this.entries.get(key);
    if (prev) prev.quantity = prev.quantity.plus(draft.quantity);
    else this.entries.set(key, { ...draft });
  }

  /** Records a charge's exact (unrounded) amount, for the minimum commitment it counts towards (§3.1). */
  charged(charge: Charge, exactAmount: Dec): void {
    const sender = charge.commitmentServiceId;
    if (sender === undefined) return;
    this.exactByCommitment.set(sender, this.exactChargedTo(sender).plus(exactAmount));
  }

  /** The exact amount charged so far towards a sender's minimum commitment. */
  exactChargedTo(serviceId: string): Dec {
    return this.exactByCommitment.get(serviceId) ?? ZERO;
  }

  /** The lines, each rounded once, half-up, to the currency (G4); zero quantities are not written (§4). */
  lines(currency: string): PricedLine[] {
    const out: PricedLine[] = [];
    for (const e of this.entries.values()) {
      if (e.quantity.isZero()) continue;
      out.push({
        lineType: e.lineType,
        product: e.product,
        dimensions: e.dimensions,
        quantity: e.quantity,
        unitPrice: e.unitPrice,
        amount: roundMoney(e.quantity.times(e.unitPrice), currency),
        tariffVersion: e.tariffVersion,
        description: `${describeProduct(e.product, e.dimensions)}: ${e.note ?? e.lineType.replace("_", " ")}`,
        unit: e.unit ?? this.unitOf(e.product),
      });
    }
    return out;
  }
}

/**
 * Pricing: turns a period's charges into priced lines (contract §3, §4; rating-rules G4, G8, G10, §2, §3.1).
 * Pure and deterministic; amounts are exact until each line is rounded once, half-up.
 */
import type { Account } from "../../contract/accounts.js";
import { instantOf } from "../../contract/common.js";
import type { LineType } from "../../contract/invoice-line.js";
import type { Rate, Tariff, TariffPackage, TariffVersion } from "../../contract/tariffs.js";
import { catalogue, type ProductCode, packagedProducts } from "../catalogue.js";
import { Dec, dec, roundMoney, ZERO } from "../money.js";
import { daysInPeriod, type PeriodWindow } from "../time.js";
import type { Charge, Dimensions, SuspenseItem } from "./types.js";

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

export interface PricingResult {
  readonly lines: PricedLine[];
  readonly suspense: SuspenseItem[];
}

/** Unit prices have up to 6 decimals (rating-rules G4). */
export const UNIT_PRICE_DECIMALS = 6;

/** The version in force at instant t (G8): the last one whose effectiveFrom ≤ t. */
export function versionAt(tariff: Tariff, t: number): TariffVersion | undefined {
  let found: TariffVersion | undefined;
  for (const v of tariff.versions) if (instantOf(v.effectiveFrom) <= t) found = v;
  return found;
}

/** Contract §3: of the rates whose every match key equals the charge's dimension, most keys wins, then first listed. */
export function findRate(version: TariffVersion, product: string, dimensions: Dimensions): Rate | undefined {
  let best: Rate | undefined;
  let bestKeys = -1;
  for (const rate of version.rates) {
    if (rate.product !== product) continue;
    const keys = Object.entries(rate.match);
    // G14: a charge that lacks a dimension never matches a rate keyed on it.
    if (!keys.every(([k, v]) => dimensions[k] === v)) continue;
    if (keys.length > bestKeys) {
      best = rate;
      bestKeys = keys.length;
    }
  }
  return best;
}

export const dimensionsKey = (d: Dimensions): string =>
  Object.keys(d)
    .sort()
    .map((k) => `${k}=${d[k]}`)
    .join(";");

const describe = (product: string, d: Dimensions) => {
  const k = dimensionsKey(d);
  return k ? `${product} (${k})` : product;
};

const unitOf = (product: string): string =>
  Object.hasOwn(catalogue, product) ? catalogue[product as ProductCode].unit : "";

interface Accumulator {
  lineType: LineType;
  product: string;
  dimensions: Dimensions;
  quantity: Dec;
  unitPrice: Dec;
  tariffVersion: string;
  note?: string;
}

export interface PricingInput {
  readonly account: Account;
  readonly tariff: Tariff;
  readonly period: PeriodWindow;
  readonly charges: readonly Charge[];
  readonly blocked: readonly Charge[];
  /** Senders active in the period for §3.1 commitments, besides those with a charge. */
  readonly commitmentSenders?: ReadonlySet<string>;
}

export function priceCharges(input: PricingInput): PricingResult {
  const { account, tariff, period } = input;
  const currency = tariff.currency;
  const suspense: SuspenseItem[] = [];
  const acc = new Map<string, Accumulator>();
  const add = (a: Accumulator) => {
    // An injective encoding of what a line groups by; the values stay in the accumulator.
    const key = JSON.stringify([
      a.lineType,
      a.product,
      dimensionsKey(a.dimensions),
      a.tariffVersion,
      a.unitPrice.toFixed(),
    ]);
    const prev = acc.get(key);
    if (prev) prev.quantity = prev.quantity.plus(a.quantity);
    else acc.set(key, { ...a });
  };
  /** Exact (unrounded) amount per Viber sender, for the minimum commitment (§3.1). */
  const commitmentBase = new Map<string, Dec>();
  const addCommitment = (c: Charge, amount: Dec) => {
    if (c.commitmentServiceId === undefined) return;
    commitmentBase.set(
      c.commitmentServiceId,
      (commitmentBase.get(c.commitmentServiceId) ?? ZERO).plus(amount),
    );
  };
  const toSuspense = (c: Charge, reason: string) =>
    suspense.push({
      product: c.product,
      reason,
      ref: c.ref,
      quantity: c.quantity,
      dimensions: c.dimensions,
      ...(c.events !== undefined ? { events: c.events } : {}),
    });

  const periodVersion = versionAt(tariff, period.start);

  // §2: packaged SaaS products. A package in the version in force at the period's first instant
  // is a subscription: its fee is charged every period, used or not.
  const packageOf = new Map<string, TariffPackage>();
  for (const p of periodVersion?.packages ?? []) if (!packageOf.has(p.product)) packageOf.set(p.product, p);
  for (const [product, pkg] of packageOf) {
    const version = periodVersion!.effectiveFrom;
    const used = input.charges
      .filter((c) => c.product === product)
      .reduce((s, c) => s.plus(c.quantity), ZERO);
    add({
      lineType: "package_fee",
      product,
      dimensions: {},
      quantity: dec(1),
      unitPrice: dec(pkg.fee),
      tariffVersion: version,
    });
    const over = used.minus(pkg.includedQuantity);
    if (over.gt(0))
      add({
        lineType: "package_overage",
        product,
        dimensions: {},
        quantity: over,
        unitPrice: dec(pkg.overageUnitPrice),
        tariffVersion: version,
      });
    if (product === "conversations.active_agents") {
      const credit = namedUserProration(account, period, dec(pkg.fee));
      if (credit)
        add({
          lineType: "proration",
          product,
          dimensions: {},
          quantity: dec(1),
          unitPrice: credit.unitPrice,
          tariffVersion: version,
          note: credit.note,
        });
    }
  }

  // Everything else is priced by a rate; tiered rates are first gathered per rate entry and version.
  const tiered = new Map<Rate, { version: TariffVersion; charges: Charge[] }>();
  for (const c of input.charges) {
    if (packageOf.has(c.product)) continue;
    const version = versionAt(tariff, c.pricedAt);
    if (!version) {
      toSuspense(
        c,
        `no version of tariff ${tariff.tariffId} in force at ${new Date(c.pricedAt).toISOString()}`,
      );
      continue;
    }
    const rate = findRate(version, c.product, c.dimensions);
    if (!rate) {
      const pkgOnly = (packagedProducts as readonly string[]).includes(c.product) ? " and no package" : "";
      toSuspense(
        c,
        `no rate${pkgOnly} for ${describe(c.product, c.dimensions)} in tariff ${tariff.tariffId} version ${version.effectiveFrom}`,
      );
      continue;
    }
    const lineType = catalogue[c.product].lineType;
    if (rate.unitPrice !== undefined) {
      const unitPrice = dec(rate.unitPrice);
      add({
        lineType,
        product: c.product,
        dimensions: c.dimensions,
        quantity: c.quantity,
        unitPrice,
        tariffVersion: version.effectiveFrom,
      });
      addCommitment(c, c.quantity.times(unitPrice));
    } else {
      const group = tiered.get(rate) ?? { version, charges: [] };
      group.charges.push(c);
      tiered.set(rate, group);
    }
  }
  for (const [rate, { version, charges }] of tiered) {
    const first = charges[0]!;
    const lineType = catalogue[first.product].lineType;
    for (const part of tierParts(rate, charges)) {
      add({
        lineType,
        product: first.product,
        dimensions: rate.match, // contract §4: a tiered line carries the rate's match as its dimensions
        quantity: part.quantity,
        unitPrice: part.unitPrice,
        tariffVersion: version.effectiveFrom,
      });
    }
    for (const [c, amount] of tierAllocation(rate, charges)) addCommitment(c, amount);
  }

  // §3.1: Viber minimum monthly commitment per active sender.
  for (const commitment of account.commitments) {
    const base = commitmentBase.get(commitment.serviceId) ?? ZERO;
    // Active = delivered a message in the period (§3.1), as the rules report it. A charge alone does
    // not make a sender active: a session is charged in its opener's period even when its messages
    // (and so its sender's activity) fall in the next one. Without the rules' set, the charges tell.
    const active = input.commitmentSenders
      ? input.commitmentSenders.has(commitment.serviceId)
      : input.charges.some((c) => c.commitmentServiceId === commitment.serviceId);
    if (!active) continue;
    const shortfall = dec(commitment.minimumAmount).minus(base);
    if (shortfall.gt(0))
      add({
        lineType: "commitment_true_up",
        product: "viber.commitment",
        dimensions: { serviceId: commitment.serviceId },
        quantity: dec(1),
        unitPrice: shortfall,
        tariffVersion: periodVersion?.effectiveFrom ?? "",
      });
  }

  // G2: Signals-blocked traffic as informational lines, zero price.
  for (const c of input.blocked) {
    const version = versionAt(tariff, c.pricedAt);
    add({
      lineType: "informational",
      product: c.product,
      dimensions: c.dimensions,
      quantity: c.quantity,
      unitPrice: ZERO,
      tariffVersion: version?.effectiveFrom ?? "",
      note: "blocked by Signals, not charged",
    });
  }

  const lines: PricedLine[] = [];
  for (const a of acc.values()) {
    if (a.quantity.isZero()) continue; // contract §4: lines with zero quantity are not written
    const amount = roundMoney(a.quantity.times(a.unitPrice), currency);
    lines.push({
      lineType: a.lineType,
      product: a.product,
      dimensions: a.dimensions,
      quantity: a.quantity,
      unitPrice: a.unitPrice,
      amount,
      tariffVersion: a.tariffVersion,
      description: `${describe(a.product, a.dimensions)}: ${a.note ?? a.lineType.replace("_", " ")}`,
      unit: a.lineType === "package_fee" || a.lineType === "proration" ? "month" : unitOf(a.product),
    });
  }
  return { lines, suspense };
}

/** Contract §3 tiers: the quantity and unit price of each step reached by the rate's period total. */
export function tierParts(rate: Rate, charges: readonly Charge[]): { quantity: Dec; unitPrice: Dec }[] {
  const tiers = rate.tiers!;
  const total = charges.reduce((s, c) => s.plus(c.quantity), ZERO);
  if (tiers.mode === "volume") {
    const step =
      tiers.steps.find((s) => s.upTo === null || total.lte(s.upTo)) ?? tiers.steps[tiers.steps.length - 1]!;
    return [{ quantity: total, unitPrice: dec(step.unitPrice) }];
  }
  const parts: { quantity: Dec; unitPrice: Dec }[] = [];
  let lower = ZERO;
  for (const step of tiers.steps) {
    if (total.lte(lower)) break;
    const upper = step.upTo === null ? total : Dec.min(total, step.upTo);
    const q = upper.minus(lower);
    if (q.gt(0)) parts.push({ quantity: q, unitPrice: dec(step.unitPrice) });
    lower = upper;
  }
  return parts;
}

/** Exact amount per charge under a tiered rate (graduated: in canonical order), for commitments. */
function tierAllocation(rate: Rate, charges: readonly Charge[]): [Charge, Dec][] {
  const tiers = rate.tiers!;
  if (tiers.mode === "volume") {
    const price = tierParts(rate, charges)[0]?.unitPrice ?? ZERO;
    return charges.map((c) => [c, c.quantity.times(price)]);
  }
  let running = ZERO;
  return charges.map((c) => {
    const from = running;
    const to = running.plus(c.quantity);
    let amount = ZERO;
    let lower = ZERO;
    for (const step of tiers.steps) {
      const upper = step.upTo === null ? to : dec(step.upTo);
      const overlap = Dec.min(to, upper).minus(Dec.max(from, lower));
      if (overlap.gt(0)) amount = amount.plus(overlap.times(step.unitPrice));
      lower = upper;
    }
    running = to;
    return [c, amount];
  });
}

/**
 * §2 first month of named-user pricing: when namedUserPricingStart falls on day d (> 1) of this
 * period with D days, credit −fee × (d − 1) / D on a proration line (the fee line stays full).
 */
export function namedUserProration(
  account: Account,
  period: PeriodWindow,
  fee: Dec,
): { unitPrice: Dec; note: string } | undefined {
  const start = account.settings.namedUserPricingStart;
  if (!start || start.slice(0, 7) !== period.id) return undefined;
  const d = Number(start.slice(8, 10));
  if (d <= 1) return undefined;
  const D = daysInPeriod(period.id);
  // G4: unit prices carry up to 6 decimals; the line's amount (1 × unit price) is then rounded once
  // to the currency (policy: −fee × 10/31 is shown as −96.774194, amount −96.77).
  const credit = fee
    .times(d - 1)
    .dividedBy(D)
    .toDecimalPlaces(UNIT_PRICE_DECIMALS, Dec.ROUND_HALF_UP)
    .negated();
  return {
    unitPrice: credit,
    note: `first month of named-user pricing from ${start}: fee prorated by (${D} − ${d} + 1) / ${D}, credit ${d - 1}/${D}`,
  };
}

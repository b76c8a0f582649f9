/**
 * The one interface every price type implements (as OpenMeter's lineservice `Pricer`): it prices
 * one subject (a rate's charges, a package, a commitment, a blocked charge) into the line book.
 */
import type { Account } from "../../../contract/accounts.js";
import type { Rate, Tariff, TariffVersion } from "../../../contract/tariffs.js";
import type { ChargeLineType } from "../../catalogue.js";
import type { ProductCatalogue } from "../../products/index.js";
import type { PeriodWindow } from "../../time.js";
import type { Charge, PeriodCharges } from "../types.js";
import type { LineBook } from "./line-book.js";

/** What one account's period is priced from: its charges under its tariff. */
export interface PricingInput extends PeriodCharges {
  readonly account: Account;
  readonly tariff: Tariff;
  readonly period: PeriodWindow;
  /** Senders active in the period for §3.1 commitments, besides those with a charge. */
  readonly commitmentSenders?: ReadonlySet<string>;
  /** The products priced (their line types and units): the built-in ones unless a test registers its own. */
  readonly products?: ProductCatalogue;
}

export interface PricingContext {
  readonly input: PricingInput;
  /** The tariff version in force at the period's first instant (per-period prices, G8). */
  readonly periodVersion: TariffVersion | undefined;
  /** Where lines go; the only place that rounds. */
  readonly book: LineBook;
}

export interface Pricer<Subject> {
  price(subject: Subject, ctx: PricingContext): void;
}

/** The charges one rate prices under one tariff version (G8), in canonical order. */
export interface RateGroup {
  readonly rate: Rate;
  readonly version: TariffVersion;
  readonly charges: readonly Charge[];
  /** The invoice line type of the rate's product (contract §4). */
  readonly lineType: ChargeLineType;
}

/** How a rate prices: a unit price, or its tiers' mode (contract §3). */
export type PriceForm = "unit" | NonNullable<Rate["tiers"]>["mode"];

/** The contract makes a rate carry exactly one of unitPrice or tiers. */
export const priceFormOf = (rate: Rate): PriceForm =>
  rate.unitPrice !== undefined ? "unit" : rate.tiers!.mode;

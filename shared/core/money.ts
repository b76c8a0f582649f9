/** Exact money (rating-rules G4): decimal.js, half-up, rounded once per invoice line. */
import { Decimal } from "decimal.js";

/** Our own Decimal constructor, so that no other module's global configuration can change rounding. */
export const Dec = Decimal.clone({
  precision: 60,
  rounding: Decimal.ROUND_HALF_UP,
  toExpNeg: -30,
  toExpPos: 40,
});
export type Dec = Decimal;

export const ZERO = new Dec(0);
export const ONE = new Dec(1);
export const dec = (v: Decimal.Value): Decimal => new Dec(v);

const minorUnitCache = new Map<string, number>();
/** The currency's minor-unit digits (EUR 2, JPY 0, KWD 3), from ICU's ISO 4217 data. */
export function minorUnits(currency: string): number {
  let digits = minorUnitCache.get(currency);
  if (digits === undefined) {
    digits =
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ??
      2;
    minorUnitCache.set(currency, digits);
  }
  return digits;
}

/** Rounds an exact amount once, half-up (away from zero on .5), to the currency's minor unit. */
export const roundMoney = (amount: Decimal, currency: string): Decimal =>
  amount.toDecimalPlaces(minorUnits(currency), Decimal.ROUND_HALF_UP);

/** Formats a rounded amount with exactly the currency's minor-unit digits ("12.30"). */
export const formatMoney = (amount: Decimal, currency: string): string =>
  roundMoney(amount, currency).toFixed(minorUnits(currency));

/** Plain decimal text without exponent or trailing zeros ("0.012", "3", "-1.5"). */
export const formatDecimal = (d: Decimal): string => {
  const s = d.toFixed();
  return s === "-0" ? "0" : s;
};

/**
 * The one harness of the rule tests (issue 13): it hands a product rule exactly the input
 * `ratePeriod` (engine.ts) hands it — the account's own events (by subject), in canonical order
 * (G12), split into the history before the period's end and the events `following` it within
 * RATING_LOOKAHEAD (§3.1) — and writes charges in one format, so every rules suite reads the same.
 */
import { expect } from "vitest";
import type { AccountInput } from "../../../shared/contract/accounts.js";
import { RATING_LOOKAHEAD } from "../../../shared/core/rating/engine.js";
import { canonicalOrder } from "../../../shared/core/rating/ordering.js";
import type {
  Charge,
  LedgerEvent,
  ProductRule,
  RuleInput,
  RuleOutput,
  SuspenseItem,
} from "../../../shared/core/rating/types.js";
import { type PeriodWindow, periodWindow } from "../../../shared/core/time.js";
import { account } from "../../support/events.js";

export const june = periodWindow("2025-06", "UTC");
export const july = periodWindow("2025-07", "UTC");
export const august = periodWindow("2025-08", "UTC");
/** July for an Istanbul account: it starts at 2025-06-30T21:00:00Z (G3). */
export const julyIst = periodWindow("2025-07", "Europe/Istanbul");

export const HOUR = 3_600_000;
/** An instant as the expectations write it: seconds precision, no `.000`. */
export const iso = (t: number) => new Date(t).toISOString().replace(".000Z", "Z");
/** The instant `hours` (and `ms`) after `base`, as an RFC 3339 string. */
export const after = (base: string, hours: number, ms = 0) =>
  new Date(Date.parse(base) + hours * HOUR + ms).toISOString();

/** The input `ratePeriod` gives each rule for this account (acme, in the period's time zone). */
export function ruleInput(
  events: readonly LedgerEvent[],
  period: PeriodWindow = july,
  over: Partial<AccountInput> = {},
): RuleInput {
  const acct = account({ timezone: period.timezone, ...over });
  const own = canonicalOrder(events.filter((e) => e.subject === acct.accountId));
  return {
    account: acct,
    period,
    events: own.filter((e) => e.t < period.end),
    following: own.filter((e) => e.t >= period.end && e.t < period.end + RATING_LOOKAHEAD),
  };
}

/** The rule's output for the period, from its input as the engine builds it. */
export const rate = (
  rule: ProductRule,
  events: readonly LedgerEvent[],
  period: PeriodWindow = july,
  over: Partial<AccountInput> = {},
): RuleOutput => rule(ruleInput(events, period, over));

export interface TextOptions {
  /** Show `@pricedAt` (G8); suites that check pricedAt on its own leave it out. */
  readonly at?: boolean;
}
/**
 * "product[k=v;…] xQ @pricedAt #commitmentServiceId": dimensions sorted by key and only when there
 * are some, " xQ" only when Q ≠ 1, "#…" only for a charge counted towards a Viber commitment.
 */
export function chargeText(c: Charge | SuspenseItem, { at = true }: TextOptions = {}): string {
  const dims = c.dimensions ?? {};
  const d = Object.keys(dims)
    .sort()
    .map((k) => `${k}=${dims[k]}`)
    .join(";");
  const q = c.quantity.eq(1) ? "" : ` x${c.quantity.toFixed()}`;
  const when = at && "pricedAt" in c ? ` @${iso(c.pricedAt)}` : "";
  const svc = "commitmentServiceId" in c && c.commitmentServiceId ? ` #${c.commitmentServiceId}` : "";
  return `${c.product}${d ? `[${d}]` : ""}${q}${when}${svc}`;
}

/** A rule's output as text, each list in the rule's own order. */
export interface RuleText {
  readonly charges: string[];
  readonly blocked: string[];
  /** "text: reason" */
  readonly suspense: string[];
  readonly compliance: Record<string, unknown>;
}
export function outputText(out: RuleOutput, options: TextOptions = {}): RuleText {
  return {
    charges: out.charges.map((c) => chargeText(c, options)),
    blocked: (out.blocked ?? []).map((c) => chargeText(c, options)),
    suspense: (out.suspense ?? []).map((s) => `${chargeText(s, options)}: ${s.reason}`),
    compliance: out.compliance ?? {},
  };
}

/** The rule's output as text (see `rate`). */
export const rateText = (
  rule: ProductRule,
  events: readonly LedgerEvent[],
  period: PeriodWindow = july,
  over: Partial<AccountInput> = {},
  options: TextOptions = {},
): RuleText => outputText(rate(rule, events, period, over), options);

/**
 * The period's charges, sorted (a rule's output order is not part of its contract), after checking
 * that the rule blocked and suspended nothing: for the rules whose cases are charges only.
 */
export function sortedCharges(
  rule: ProductRule,
  events: readonly LedgerEvent[],
  period: PeriodWindow = july,
  over: Partial<AccountInput> = {},
): string[] {
  const text = rateText(rule, events, period, over);
  expect(text.blocked).toEqual([]);
  expect(text.suspense).toEqual([]);
  return [...text.charges].sort();
}

/**
 * Explanations of invoice lines (issue 10 item 3): built at close from what
 * the close rated (the pure shared/core/rating/explain/), stored with the lines under the close's
 * claim, read back by line id for `billing explain` and the finance API.
 */
import type { InvoiceLine } from "../contract/invoice-line.js";
import { BillingError } from "../core/errors.js";
import { MAX_SAMPLES } from "../core/rating/counters.js";
import type { PeriodRating } from "../core/rating/engine.js";
import {
  type ExplainInput,
  explainAdjustment,
  explainLines,
  type LineExplanation,
} from "../core/rating/explain/explain.js";
import type { EventSample } from "../core/rating/types.js";
import type { PeriodId } from "../core/time.js";
import type { ExplanationStore } from "../ports/explanations.js";
import type { PeriodStore } from "../ports/storage.js";
import type { UsageStore } from "../ports/usage-store.js";

/** A closed period the close re-rated (G7): its new rating and the lines already emitted for it. */
export interface RecheckedPeriod {
  readonly referencePeriod: PeriodId;
  readonly rating: PeriodRating;
  readonly emitted: readonly InvoiceLine[];
}

/** What explaining a line needs (account, tariff, the period's rating), for every line of a close. */
export interface CloseExplanationInput extends ExplainInput {
  readonly periodId: PeriodId;
  readonly rechecked: readonly RecheckedPeriod[];
  /** Every line this close emits. */
  readonly lines: readonly InvoiceLine[];
}

export interface ExplainDeps {
  readonly usage: Pick<UsageStore, "rawEventsStoredSince">;
  readonly periods: Pick<PeriodStore, "getClose">;
}

/**
 * The explanation of every line of a close, built from what it rated; the close writes them with
 * its lines, under its claim (PeriodStore.writeCloseLines).
 */
export async function explainClose(
  deps: ExplainDeps,
  input: CloseExplanationInput,
): Promise<LineExplanation[]> {
  const { account, tariff, periodId } = input;
  const products = input.products ? { products: input.products } : {};
  const own = input.lines.filter((l) => l.reference_period === periodId);
  const out = explainLines({ account, tariff, rating: input.rating, ...products }, own);
  for (const r of input.rechecked) {
    const adjustments = input.lines.filter((l) => l.reference_period === r.referencePeriod);
    if (adjustments.length === 0) continue;
    const isLate = await lateSince(deps, account.accountId, r);
    for (const line of adjustments)
      out.push(
        explainAdjustment({ account, tariff, rating: r.rating, ...products }, line, r.emitted, isLate),
      );
  }
  return out;
}

/**
 * Which events are late for a re-rated period: stored after the last close that billed it (its own
 * close, or the latest close that emitted an adjustment for it), so each adjustment names the events
 * it is the first to bill. Counter samples carry their storage time; raw events are read by key range.
 */
async function lateSince(
  deps: ExplainDeps,
  accountId: string,
  r: RecheckedPeriod,
): Promise<(s: EventSample) => boolean> {
  const billedBy = [...new Set([r.referencePeriod, ...r.emitted.map((l) => l.period)])];
  const closes = await Promise.all(billedBy.map((p) => deps.periods.getClose(accountId, p)));
  const since = Math.max(0, ...closes.map((c) => c?.closedAt ?? 0));
  const raw = await deps.usage.rawEventsStoredSince(accountId, r.referencePeriod, since, 10 * MAX_SAMPLES);
  const rawLate = new Set(raw.map((s) => JSON.stringify([s.source, s.id])));
  return (s) =>
    (s.storedAt !== undefined && s.storedAt >= since) || rawLate.has(JSON.stringify([s.source, s.id]));
}

/** Contract §4 line ids as this system makes them (invoice.ts): `L-` and 20 hex digits. */
export const LINE_ID = /^L-[0-9a-f]{20}$/;

export class MalformedLineIdError extends BillingError {
  override readonly name = "MalformedLineIdError";
}

/** The stored explanation of a line; undefined for an unknown id; MalformedLineIdError for a malformed one. */
export async function explainLine(
  store: Pick<ExplanationStore, "explanation">,
  lineId: string,
): Promise<LineExplanation | undefined> {
  if (!LINE_ID.test(lineId))
    throw new MalformedLineIdError(`a line id is "L-" and 20 hex digits, not "${lineId.slice(0, 100)}"`);
  return store.explanation(lineId);
}

/** The explanation as text for a terminal (`billing explain`). */
export function formatExplanation(x: LineExplanation): string {
  const out: string[] = [];
  const dims = x.dimensions ? ` (${x.dimensions})` : "";
  out.push(`${x.lineId}  ${x.accountId}  period ${x.period}  reference ${x.referencePeriod}`);
  out.push(
    `${x.lineType} ${x.product}${dims}: ${x.quantity} ${x.unit} × ${x.unitPrice} = ${x.amount} ${x.currency}`,
  );
  out.push("", `Rule   ${x.rule.section}: ${x.rule.chargeableEvent}`, `       quantity: ${x.rule.quantity}`);
  if (x.rule.lineType) out.push(`       ${x.rule.lineType}`);
  const v = x.tariff.version;
  out.push(
    `Tariff ${x.tariff.tariffId}, version effective ${v?.effectiveFrom ?? "(none)"}${v ? `, published ${v.publishedAt}` : ""}`,
  );
  const e = x.tariff.entry;
  if (e.kind === "rate") {
    const match = Object.entries(e.match)
      .map(([k, val]) => `${k}=${val}`)
      .join(";");
    const price =
      e.unitPrice !== undefined
        ? `unit price ${e.unitPrice}`
        : `${e.tiers?.mode} tiers ${JSON.stringify(e.tiers?.steps)}`;
    out.push(`       rate ${e.product} match {${match}}: ${price}`);
  } else if (e.kind === "package")
    out.push(
      `       package ${e.product}: fee ${e.fee}, ${e.includedQuantity} included, overage ${e.overageUnitPrice}`,
    );
  else if (e.kind === "commitment")
    out.push(`       commitment of ${e.serviceId}: minimum ${e.minimumAmount}`);
  else out.push(`       ${e.reason}`);
  out.push("", `Quantity ${x.derivation.summary}`);
  for (const f of x.derivation.figures) out.push(`       ${f}`);
  if (x.samples.length > 0) {
    out.push("", `Sample events (${x.samples.length} of ${x.derivation.events || x.samples.length}):`);
    for (const s of x.samples)
      out.push(
        `  ${s.time}  ${s.source}  ${s.id}${s.quantity ? `  +${s.quantity}` : ""}${s.detail ? `  ${s.detail}` : ""}`,
      );
  }
  const a = x.adjustment;
  if (a) {
    out.push(
      "",
      `Adjusts ${a.referencePeriod}: before ${a.before.quantity} (${a.before.amount}), after ${a.after.quantity} (${a.after.amount})`,
      `Corrects ${a.correctsCount} line(s): ${a.corrects.join(", ") || "(none: a new group)"}`,
      `Late events (${a.lateEvents.length}):`,
    );
    for (const s of a.lateEvents) out.push(`  ${s.time}  ${s.source}  ${s.id}`);
  }
  return `${out.join("\n")}\n`;
}

/**
 * Every invoice line explains itself (issue 10 item 3): the rating-rules row
 * applied, the tariff version and rate entry used, how the quantity was derived, up to 20 sample
 * event identities, and for an adjustment the late events behind it and the lines it corrects.
 *
 * Pure and after the fact: it reads what the engine priced (PeriodRating.basis) and finds each
 * line's contributors the way pricing grouped them (contract §3, §4), so the lines themselves never
 * change. Bounded: at most MAX_SAMPLES samples, figures and corrected line ids, whatever the volume.
 */
import type { Account } from "../../../contract/accounts.js";
import type { InvoiceLine } from "../../../contract/invoice-line.js";
import type { Rate, Tariff, TariffVersion } from "../../../contract/tariffs.js";
import { dec, formatDecimal, ZERO } from "../../money.js";
import { builtInProducts, type ProductCatalogue, type ProductDefinition } from "../../products/index.js";
import { boundedSamples, MAX_SAMPLES } from "../counters.js";
import type { PeriodRating } from "../engine.js";
import { packagesInForce } from "../pricing/package.js";
import { dimensionsKey, findRate, versionAt } from "../pricing.js";
import type { Charge, EventSample, LedgerEvent } from "../types.js";
import { lineTypeRows, type RuleRow } from "./rule-rows.js";

export type TariffEntry =
  | {
      readonly kind: "rate";
      readonly product: string;
      readonly match: Readonly<Record<string, string>>;
      readonly unitPrice?: string;
      readonly tiers?: Rate["tiers"];
    }
  | {
      readonly kind: "package";
      readonly product: string;
      readonly includedQuantity: number;
      readonly fee: string;
      readonly overageUnitPrice: string;
    }
  | { readonly kind: "commitment"; readonly serviceId: string; readonly minimumAmount: string }
  | { readonly kind: "none"; readonly reason: string };

/** A sample event and what it added to the line (its charge's quantity, and a figure when the rule computes one). */
export interface LineSample extends EventSample {
  readonly quantity?: string;
  readonly detail?: string;
}

export interface LineExplanation {
  readonly lineId: string;
  readonly accountId: string;
  readonly period: string;
  readonly referencePeriod: string;
  readonly lineType: string;
  readonly product: string;
  readonly dimensions: string;
  readonly quantity: string;
  readonly unit: string;
  readonly unitPrice: string;
  readonly amount: string;
  readonly currency: string;
  readonly rule: RuleRow & { readonly product: string; readonly lineType?: string };
  readonly tariff: {
    readonly tariffId: string;
    readonly version: { readonly effectiveFrom: string; readonly publishedAt: string } | null;
    readonly entry: TariffEntry;
  };
  readonly derivation: {
    /** One sentence: what was counted and how it sums to the quantity. */
    readonly summary: string;
    /** Charges priced into the line (one per event, window, session, counter or period figure). */
    readonly charges: number;
    /** Events those charges stand for (a counter's events included); 0 for a per-period fee. */
    readonly events: number;
    /** Σ of the charges' quantities (a tiered line: of its rate's charges, the whole period). */
    readonly chargedQuantity: string;
    /** The rules' own figures (distinct sets, peaks, resources, counters), at most 20. */
    readonly figures: readonly string[];
  };
  /** Up to 20 contributing events, canonical order (time, source, id). */
  readonly samples: readonly LineSample[];
  readonly adjustment?: {
    readonly referencePeriod: string;
    /** The lines already emitted for this group that the adjustment corrects (at most 20). */
    readonly corrects: readonly string[];
    readonly correctsCount: number;
    readonly before: { readonly quantity: string; readonly amount: string };
    readonly after: { readonly quantity: string; readonly amount: string };
    /** Contributing events stored after the reference period's close (at most 20). */
    readonly lateEvents: readonly LineSample[];
  };
}

/** What a priced line is grouped by (contract §4), with dimensions in their invoice-line form. */
interface LineKey {
  readonly lineType: string;
  readonly product: string;
  readonly dimensions: string;
  readonly tariffVersion: string;
  readonly unitPrice: string;
}

export interface ExplainInput {
  readonly account: Account;
  readonly tariff: Tariff;
  /** The rating of the line's reference period. */
  readonly rating: PeriodRating;
  /** The products the rating used (default: the built-in registry): each line's catalogue row. */
  readonly products?: ProductCatalogue;
}

/** The catalogue row of a product the rating knows; none for a line of no product (a commitment). */
function rowOf(input: ExplainInput, product: string): ProductDefinition | undefined {
  const rows = (input.products ?? builtInProducts).definitions;
  return Object.hasOwn(rows, product) ? rows[product] : undefined;
}

const versionOf = (tariff: Tariff, effectiveFrom: string): TariffVersion | undefined =>
  tariff.versions.find((v) => v.effectiveFrom === effectiveFrom);

/**
 * The rating's charges grouped once the way pricing puts them into lines (contract §3: which rate;
 * §4: how lines group), so explaining every line of a close is linear in its charges, not lines ×
 * charges. Built on first use per rating.
 */
interface ChargeIndex {
  /** [product, line dimensions, version, unit price or "tiers"] → charges priced by a rate. */
  readonly rated: Map<string, Charge[]>;
  /** [product, dimensions, version] → blocked charges (G2). */
  readonly blocked: Map<string, Charge[]>;
  readonly byProduct: Map<string, Charge[]>;
  readonly bySender: Map<string, Charge[]>;
  readonly packaged: ReadonlySet<string>;
  readonly event: (ref: string) => LedgerEvent | undefined;
}

const indexes = new WeakMap<PeriodRating, ChargeIndex>();
const push = (m: Map<string, Charge[]>, k: string, c: Charge) => {
  const list = m.get(k);
  if (list) list.push(c);
  else m.set(k, [c]);
};
const k = (...parts: string[]) => JSON.stringify(parts);

function indexOf({ tariff, rating }: ExplainInput): ChargeIndex {
  const cached = indexes.get(rating);
  if (cached) return cached;
  const packaged = new Set(packagesInForce(versionAt(tariff, rating.period.start)).keys());
  const index: ChargeIndex = {
    rated: new Map(),
    blocked: new Map(),
    byProduct: new Map(),
    bySender: new Map(),
    packaged,
    event: eventIndex(rating.basis.events),
  };
  for (const c of rating.basis.charges) {
    push(index.byProduct, c.product, c);
    if (c.commitmentServiceId !== undefined) push(index.bySender, c.commitmentServiceId, c);
    const version = versionAt(tariff, c.pricedAt);
    const rate = version && !packaged.has(c.product) && findRate(version, c.product, c.dimensions);
    if (!version || !rate) continue;
    // A unit rate keeps the charge's dimensions; a tiered one puts the rate's match on its lines.
    const key =
      rate.unitPrice !== undefined
        ? k(c.product, dimensionsKey(c.dimensions), version.effectiveFrom, dec(rate.unitPrice).toFixed())
        : k(c.product, dimensionsKey(rate.match), version.effectiveFrom, "tiers");
    push(index.rated, key, c);
  }
  for (const c of rating.basis.blocked)
    push(
      index.blocked,
      k(c.product, dimensionsKey(c.dimensions), versionAt(tariff, c.pricedAt)?.effectiveFrom ?? ""),
      c,
    );
  indexes.set(rating, index);
  return index;
}

/** The charges pricing put into a line with this key. */
function contributors(input: ExplainInput, key: LineKey): Charge[] {
  const index = indexOf(input);
  switch (key.lineType) {
    case "package_fee":
    case "proration":
      return [];
    case "package_overage":
      return index.byProduct.get(key.product) ?? [];
    case "commitment_true_up":
      return index.bySender.get(key.dimensions.replace(/^serviceId=/, "")) ?? [];
    case "informational":
      return index.blocked.get(k(key.product, key.dimensions, key.tariffVersion)) ?? [];
    default: {
      if (index.packaged.has(key.product)) return [];
      const at = (price: string) => index.rated.get(k(key.product, key.dimensions, key.tariffVersion, price));
      // A unit rate and a tiered step at the same price share one line (line-book.ts): both.
      return [...(at(dec(key.unitPrice).toFixed()) ?? []), ...(at("tiers") ?? [])];
    }
  }
}

function entryOf({ account, tariff, rating }: ExplainInput, key: LineKey, used: Charge[]): TariffEntry {
  const version = versionOf(tariff, key.tariffVersion);
  if (!version) return { kind: "none", reason: "no tariff version applied" };
  if (["package_fee", "package_overage", "proration"].includes(key.lineType)) {
    const pkg = version.packages.find((p) => p.product === key.product);
    if (pkg) return { kind: "package", ...pkg };
  }
  if (key.lineType === "commitment_true_up") {
    const serviceId = key.dimensions.replace(/^serviceId=/, "");
    const c = account.commitments.find((x) => x.serviceId === serviceId);
    if (c) return { kind: "commitment", serviceId, minimumAmount: c.minimumAmount };
  }
  if (key.lineType === "informational") return { kind: "none", reason: "G2: blocked traffic, priced at 0" };
  const first = used[0];
  const rate = first && findRate(version, first.product, first.dimensions);
  if (!rate)
    return {
      kind: "none",
      reason: `no rate in version ${version.effectiveFrom} (period ${rating.period.id})`,
    };
  return {
    kind: "rate",
    product: rate.product,
    match: rate.match,
    ...(rate.unitPrice !== undefined ? { unitPrice: rate.unitPrice } : {}),
    ...(rate.tiers ? { tiers: rate.tiers } : {}),
  };
}

/** The event a charge names (rules use `source#id`, sometimes followed by a space and a figure). */
function eventIndex(events: readonly LedgerEvent[]): (ref: string) => LedgerEvent | undefined {
  let byRef: Map<string, LedgerEvent> | undefined;
  return (ref) => {
    byRef ??= new Map(events.map((e) => [`${e.source}#${e.id}`, e]));
    // A source holds no white space (contract §1), so the identity ends at the first space.
    const space = ref.indexOf(" ");
    return byRef.get(space < 0 ? ref : ref.slice(0, space));
  };
}

/** A figure the rule computed from the event, where the quantity is not simply 1. */
function detailOf(product: string, e: LedgerEvent, quantity: string): string | undefined {
  if (e.type === "voice.call" && product === "voice.minute")
    return `duration ${e.data.durationSeconds} s → ⌈${e.data.durationSeconds} / 60⌉ = ${quantity} min`;
  if (e.type === "voice.call" && product === "voice.transcription")
    return `transcription ${e.data.transcriptionSeconds ?? 0} s → ⌈/15⌉ = ${quantity}`;
  if (e.type === "whatsapp.message" && product === "whatsapp.conversation")
    return `opened a ${e.data.category ?? "service"} conversation [${e.time}, +24 h)`;
  if (e.type === "viber.inbound" && product === "viber.session")
    return `opened a 24 h session [${e.time}, +24 h)`;
  if (product === "genai.interaction" && quantity !== "1") return `${quantity} units`;
  return undefined;
}

const sampleOf = (e: LedgerEvent): EventSample => ({ source: e.source, id: e.id, time: e.time });

interface Derived {
  readonly samples: LineSample[];
  readonly events: number;
  readonly figures: string[];
  readonly total: string;
}

/** Samples, event counts and figures of a line's contributing charges. */
function derive(input: ExplainInput, key: LineKey, used: readonly Charge[]): Derived {
  const find = indexOf(input).event;
  const samples: LineSample[] = [];
  const figures = new Set<string>();
  let events = 0;
  let total = ZERO;
  for (const c of used) {
    total = total.plus(c.quantity);
    const e = find(c.ref);
    if (e) {
      events += 1;
      const quantity = formatDecimal(c.quantity);
      const detail = detailOf(c.product, e, quantity);
      samples.push({ ...sampleOf(e), quantity, ...(detail ? { detail } : {}) });
      continue;
    }
    events += c.events ?? 0;
    if (c.samples) samples.push(...c.samples);
    if (figures.size < MAX_SAMPLES) figures.add(c.ref);
  }
  // A per-period figure (distinct users, peaks, resources) names no event: sample the events it counts.
  if (samples.length === 0 && used.length > 0) {
    const types = new Set<string>(rowOf(input, key.product)?.sources ?? []);
    const { start, end } = input.rating.period;
    const blocked = key.lineType === "informational";
    for (const e of input.rating.basis.events) {
      if (samples.length >= MAX_SAMPLES) break;
      if (!types.has(e.type) || e.t < start || e.t >= end) continue;
      const d = e.data as { delivered?: boolean; blocked?: boolean };
      if (d.delivered === false || (d.blocked === true) !== blocked) continue;
      samples.push(sampleOf(e));
    }
  }
  return {
    samples: boundedSamples(samples) as LineSample[],
    events,
    figures: [...figures],
    total: formatDecimal(total),
  };
}

function summaryOf(
  row: ProductDefinition | undefined,
  key: LineKey,
  used: readonly Charge[],
  d: Derived,
  entry: TariffEntry,
  quantity: string,
): string {
  const unit = row?.unit ?? "unit";
  switch (key.lineType) {
    case "package_fee":
      return `monthly package fee: quantity 1 at the fee, charged every period used or not`;
    case "proration":
      return `proration of the package fee: quantity 1 at the credit`;
    case "package_overage": {
      const included = entry.kind === "package" ? entry.includedQuantity : 0;
      return `${d.total} ${unit} used (${used.length} charges) − ${included} included = ${quantity} above the package`;
    }
    case "commitment_true_up":
      return `the sender's ${used.length} viber charges (${d.events} events) came below the minimum commitment; the line adds the shortfall`;
  }
  const counted = d.events > 0 ? ` from ${d.events} events` : "";
  const tiered =
    entry.kind === "rate" && entry.tiers ? ` (${entry.tiers.mode} tiers over the rate's period total)` : "";
  return `${used.length} charges${counted}, Σ quantity = ${d.total} ${unit}${tiered}; this line: ${quantity}`;
}

function ruleOf(
  definition: ProductDefinition | undefined,
  product: string,
  lineType: string,
): LineExplanation["rule"] {
  const row: RuleRow = definition
    ? definition.explanation
    : { section: "§3.1", chargeableEvent: "minimum monthly commitment per active sender", quantity: "1" };
  const note = lineTypeRows[lineType];
  return { ...row, product, ...(note ? { lineType: note } : {}) };
}

function explainKey(
  input: ExplainInput,
  line: InvoiceLine,
  key: LineKey,
  used: readonly Charge[],
): Omit<LineExplanation, "adjustment"> & { derived: Derived } {
  const entry = entryOf(input, key, [...used]);
  const d = derive(input, key, used);
  const version = versionOf(input.tariff, key.tariffVersion);
  return {
    lineId: line.line_id,
    accountId: line.account_id,
    period: line.period,
    referencePeriod: line.reference_period,
    lineType: line.line_type,
    product: line.product,
    dimensions: line.dimensions,
    quantity: line.quantity,
    unit: line.unit,
    unitPrice: line.unit_price,
    amount: line.amount,
    currency: line.currency,
    rule: ruleOf(rowOf(input, line.product), line.product, key.lineType),
    tariff: {
      tariffId: input.tariff.tariffId,
      version: version ? { effectiveFrom: version.effectiveFrom, publishedAt: version.publishedAt } : null,
      entry,
    },
    derivation: {
      summary: summaryOf(rowOf(input, key.product), key, used, d, entry, line.quantity),
      charges: used.length,
      events: d.events,
      chargedQuantity: d.total,
      figures: d.figures,
    },
    samples: d.samples,
    derived: d,
  };
}

const keyOfLine = (l: InvoiceLine): LineKey => ({
  lineType: l.line_type,
  product: l.product,
  dimensions: l.dimensions,
  tariffVersion: l.tariff_version,
  unitPrice: l.unit_price,
});

/** The explanation of each line a period's own close emitted (reference period = the rated one). */
export function explainLines(input: ExplainInput, lines: readonly InvoiceLine[]): LineExplanation[] {
  return lines.map((line) => {
    const key = keyOfLine(line);
    const { derived: _, ...x } = explainKey(input, line, key, contributors(input, key));
    return x;
  });
}

/**
 * The explanation of an adjustment (or informational difference) line of a re-rated closed period
 * (G7): the re-rated group's contributors, the lines already emitted for the group it corrects,
 * and which contributors are late (`isLate`: stored after the reference period's close).
 */
export function explainAdjustment(
  input: ExplainInput,
  line: InvoiceLine,
  emitted: readonly InvoiceLine[],
  isLate: (s: EventSample) => boolean,
): LineExplanation {
  const billed = line.line_type !== "informational";
  const sameGroup = (l: LineKey) =>
    (l.lineType !== "informational") === billed &&
    l.product === line.product &&
    l.dimensions === line.dimensions &&
    l.tariffVersion === line.tariff_version &&
    dec(l.unitPrice).eq(line.unit_price);
  const rerated = input.rating.lines
    .map((l) => ({
      lineType: l.lineType,
      product: l.product,
      dimensions: dimensionsKey(l.dimensions),
      tariffVersion: l.tariffVersion,
      unitPrice: formatDecimal(l.unitPrice),
      line: l,
    }))
    .filter(sameGroup);
  const used = [...new Set(rerated.flatMap((k) => contributors(input, k)))];
  const corrected = emitted.filter(
    (l) => l.reference_period === line.reference_period && sameGroup(keyOfLine(l)),
  );
  const key: LineKey = { ...keyOfLine(line), lineType: rerated[0]?.lineType ?? keyOfLine(line).lineType };
  const { derived, ...x } = explainKey(input, line, key, used);
  const sum = (f: (l: InvoiceLine) => string) => corrected.reduce((s, l) => s.plus(f(l)), ZERO);
  const after = rerated.reduce(
    (s, l) => ({ quantity: s.quantity.plus(l.line.quantity), amount: s.amount.plus(l.line.amount) }),
    { quantity: ZERO, amount: ZERO },
  );
  return {
    ...x,
    rule: { ...x.rule, lineType: lineTypeRows.adjustment! },
    adjustment: {
      referencePeriod: line.reference_period,
      corrects: corrected
        .map((l) => l.line_id)
        .sort()
        .slice(0, MAX_SAMPLES),
      correctsCount: corrected.length,
      before: {
        quantity: formatDecimal(sum((l) => l.quantity)),
        amount: formatDecimal(sum((l) => l.amount)),
      },
      after: { quantity: formatDecimal(after.quantity), amount: formatDecimal(after.amount) },
      lateEvents: derivedLate(input, used, derived, isLate),
    },
  };
}

/**
 * The late contributors: every contributing event (not only the shown samples) that `isLate` names,
 * at most 20. Counter charges carry only their samples: a late one is among them when the counter
 * item's latest event is late (the store keeps it), which is what the samples hold.
 */
function derivedLate(
  input: ExplainInput,
  used: readonly Charge[],
  derived: Derived,
  isLate: (s: EventSample) => boolean,
): LineSample[] {
  const find = indexOf(input).event;
  const late: LineSample[] = [];
  for (const c of used) {
    const e = find(c.ref);
    if (e) {
      const s = sampleOf(e);
      if (isLate(s)) late.push({ ...s, quantity: formatDecimal(c.quantity) });
    } else for (const s of c.samples ?? []) if (isLate(s)) late.push(s);
  }
  if (late.length === 0) for (const s of derived.samples) if (isLate(s)) late.push(s);
  return boundedSamples(late) as LineSample[];
}

/**
 * Monthly counters (docs/data-model.md): the contribution of a COUNTED event, derived at ingest by
 * running the same product rules on that event alone, and the way back at close from the summed
 * counters to charges that the unchanged pricing turns into the same invoice lines.
 *
 * A type is COUNTED when every rule that reads it is a pure per-event function of the event and
 * the account: its charges are additive over events, priced at the event's own time (G8), and it
 * neither reads nor changes the state of any other event (windows, sessions, distinct sets,
 * resources). Everything else is STATEFUL and kept as raw events (pages) for the close.
 * Checked type by type against the rules (products/<family>/rule.ts; see test/unit/counters.test.ts, which proves the identity
 * ratePeriod(all events) = price(counters + rules(stateful events)) on random mixes):
 * - rateMessages: sms/mms/rcs mt+mo, number lookup, e-mail, e-mail validation, push, LINE, Zalo,
 *   Kakao messages — one charge (or blocked line) per event, nothing else reads them;
 * - rateGenAi: genai.interaction, per request;
 * - rateRecording: recording.exported, per export (licences and storage read other types);
 * - rateVoice: voice.conference, per conference from its own participants.
 * Not counted: voice.call (recording licences, E911 and fair use read calls together with resources),
 * Viber/WhatsApp/Viber Bot (windows, sessions), USSD/Sangdam (first session id ever), active users,
 * SaaS metrics (distinct sets, peaks, sessions), resources and recording storage.
 */
import type { Account } from "../../contract/accounts.js";
import type { Tariff } from "../../contract/tariffs.js";
import type { ProductCode } from "../catalogue.js";
import { type Dec, dec, ZERO } from "../money.js";
import { builtInProducts, type ProductCatalogue, type UsageEventType } from "../products/index.js";
import { type PeriodId, type PeriodWindow, periodOf, periodWindow } from "../time.js";
import { versionAt } from "./pricing.js";
import type { Charge, Dimensions, EventSample, LedgerEvent, SuspenseItem } from "./types.js";

/**
 * Types counted in monthly counters instead of stored raw: those every rule reads one event at a
 * time (declared in products/<family>/index.ts), never together with others nor carried across a period.
 */
export const COUNTED_TYPES = builtInProducts.countedTypes as ReadonlySet<UsageEventType>;

export type CounterKind = "charge" | "blocked" | "suspense";

/** One counter of an (account, period): what is summed, and by how much. */
export interface CounterDelta {
  readonly kind: CounterKind;
  readonly product: string;
  readonly dimensions: Dimensions;
  /** effectiveFrom of the tariff version in force at the charge's instant (G8), "" for suspense. */
  readonly version: string;
  /** Suspense reason given by a rule (kind "suspense" only), else "". */
  readonly reason: string;
  readonly quantity: Dec;
  /** Events that contributed (suspense event counts of the close report). */
  readonly events: number;
  /**
   * Identities of events that contributed, for explanations (never priced): the store keeps the
   * first and the latest event of each counter item (data-model.md), at most MAX_SAMPLES here.
   */
  readonly samples?: readonly EventSample[];
}

/** At most this many sample identities per counter or explanation (issue 10: bounded). */
export const MAX_SAMPLES = 20;

/**
 * Samples in canonical order (time, source, id), without repeats, at most `limit`. A counter's
 * samples are merged without a limit: the store keeps two per counter item, so they are bounded
 * by its shards, and the latest ones (late events, G7) must survive until an explanation picks them.
 */
export function boundedSamples(samples: readonly EventSample[], limit = MAX_SAMPLES): EventSample[] {
  const seen = new Map<string, EventSample>();
  for (const x of samples) {
    const k = JSON.stringify([x.source, x.id]);
    const prev = seen.get(k);
    // The same event seen as first and latest: keep its latest storage time.
    if (!prev || (x.storedAt ?? 0) > (prev.storedAt ?? 0)) seen.set(k, x);
  }
  const t = (x: EventSample) => Date.parse(x.time);
  return [...seen.values()]
    .sort(
      (a, b) =>
        t(a) - t(b) ||
        (a.source < b.source ? -1 : a.source > b.source ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )
    .slice(0, limit);
}

/**
 * Injective key of a counter within its (account, period): kind, product, dimensions, version, reason.
 * Stored as the counter item's sort key (docs/data-model.md), so its format never changes.
 */
export function counterKey(d: Pick<CounterDelta, "kind" | "product" | "dimensions" | "version" | "reason">) {
  const dims = Object.keys(d.dimensions)
    .sort()
    .map((k) => [k, d.dimensions[k]]);
  return JSON.stringify([d.kind, d.product, dims, d.version, d.reason]);
}

/**
 * A stored counter back as a delta: its key (counterKey's JSON) parsed, its quantity and events, and
 * the explanation samples it kept (the first and latest event, each JSON when present).
 */
export function counterOfKey(
  key: string,
  quantity: string,
  events: number,
  sampleJson: readonly (string | undefined)[],
): CounterDelta {
  const [kind, product, dims, version, reason] = JSON.parse(key) as [
    CounterDelta["kind"],
    string,
    [string, string][],
    string,
    string,
  ];
  const samples = sampleJson.flatMap((x) => (x ? [JSON.parse(x) as EventSample] : []));
  return {
    kind,
    product,
    dimensions: Object.fromEntries(dims),
    version,
    reason,
    quantity: dec(quantity),
    events,
    ...(samples.length > 0 ? { samples } : {}),
  };
}

export type Contribution =
  | { readonly counted: true; readonly period: PeriodId; readonly deltas: readonly CounterDelta[] }
  | { readonly counted: false; readonly period: PeriodId };

/**
 * What one event adds to its period. A counted type whose result the counters could not reproduce
 * exactly falls back to a raw (stateful) event: a charge priced at another instant, a per-period
 * figure (compliance, commitment senders), or an instant with no tariff version in force (whose
 * suspense reason names the instant). Marketplace accounts keep raw events: the hourly reporter
 * needs each event's time (rating-rules §6).
 */
export function contributionOf(
  account: Account,
  tariff: Tariff,
  event: LedgerEvent,
  products: ProductCatalogue = builtInProducts,
): Contribution {
  const periodId = periodOf(event.t, account.timezone);
  const raw = { counted: false, period: periodId } as const;
  if (!products.countedTypes.has(event.type) || account.billingChannel !== "direct") return raw;
  const period = periodWindow(periodId, account.timezone);
  const deltas: CounterDelta[] = [];
  for (const rule of products.rules) {
    const out = rule({ account, period, events: [event] });
    if ((out.commitmentSenders?.length ?? 0) > 0) return raw;
    if (out.compliance && Object.keys(out.compliance).length > 0) return raw;
    for (const [kind, list] of [
      ["charge", out.charges],
      ["blocked", out.blocked ?? []],
    ] as const)
      for (const c of list) {
        if (c.pricedAt !== event.t || c.commitmentServiceId !== undefined) return raw;
        const version = versionAt(tariff, c.pricedAt)?.effectiveFrom;
        if (version === undefined) return raw;
        deltas.push({
          kind,
          product: c.product,
          dimensions: c.dimensions,
          version,
          reason: "",
          quantity: c.quantity,
          events: 1,
        });
      }
    for (const s of out.suspense ?? [])
      deltas.push({
        kind: "suspense",
        product: s.product,
        dimensions: s.dimensions ?? {},
        version: "",
        reason: s.reason,
        quantity: s.quantity,
        events: 1,
      });
  }
  return { counted: true, period: periodId, deltas: mergeDeltas(deltas) };
}

/** Sums deltas with the same counter key (pre-aggregation per attempt). */
export function mergeDeltas(deltas: readonly CounterDelta[]): CounterDelta[] {
  const byKey = new Map<string, CounterDelta>();
  for (const d of deltas) {
    const k = counterKey(d);
    const prev = byKey.get(k);
    const samples =
      prev && (prev.samples || d.samples)
        ? boundedSamples([...(prev.samples ?? []), ...(d.samples ?? [])], Number.POSITIVE_INFINITY)
        : undefined;
    byKey.set(
      k,
      prev
        ? {
            ...prev,
            quantity: prev.quantity.plus(d.quantity),
            events: prev.events + d.events,
            ...(samples ? { samples } : {}),
          }
        : d,
    );
  }
  return [...byKey.values()];
}

/** Counted usage of one (account, period) as read back at close: the summed counters and the event count. */
export interface PeriodCounters {
  readonly counters: readonly CounterDelta[];
  /** Counted events of the period (for the close report's event count). */
  readonly events: number;
  /**
   * The newest event time (epoch ms) the counters' latest writes recorded; absent when none did
   * (no counted event, or counters written before it was recorded). Never priced.
   */
  readonly newestEventAt?: number;
}

export const NO_COUNTERS: PeriodCounters = { counters: [], events: 0 };

/**
 * Turns a period's counters back into aggregated charges: one charge per counter with the summed
 * quantity, priced at an instant of its tariff version inside the period (the version's start, or
 * the period's first instant), so pricing picks the same version as for each event (G8).
 */
export function chargesFromCounters(
  period: PeriodWindow,
  pc: PeriodCounters,
): { charges: Charge[]; blocked: Charge[]; suspense: SuspenseItem[]; eventCount: number } {
  const charges: Charge[] = [];
  const blocked: Charge[] = [];
  const suspense: SuspenseItem[] = [];
  for (const c of mergeDeltas(pc.counters)) {
    if (c.quantity.eq(ZERO) && c.events === 0) continue;
    const ref = `${c.product} counted in ${period.id} (${c.events} events)`;
    if (c.kind === "suspense") {
      suspense.push({
        product: c.product,
        reason: c.reason,
        ref,
        quantity: c.quantity,
        dimensions: c.dimensions,
        events: c.events,
      });
      continue;
    }
    const from = Date.parse(c.version);
    const charge: Charge = {
      product: c.product as ProductCode,
      dimensions: c.dimensions,
      quantity: c.quantity,
      pricedAt: Math.min(Math.max(from, period.start), period.end - 1),
      ref,
      events: c.events,
      ...(c.samples ? { samples: c.samples } : {}),
    };
    (c.kind === "charge" ? charges : blocked).push(charge);
  }
  return { charges, blocked, suspense, eventCount: pc.events };
}

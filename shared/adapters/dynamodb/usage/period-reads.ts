/**
 * Reads of an account's usage by period (close, preview, Marketplace reporter): its usage markers,
 * the counters and raw-event pages of the shards the markers name, and recently stored raw events.
 * Every read is a key Query of known partitions, never a scan.
 */
import { inflateRawSync } from "node:zlib";
import { compareStrings } from "../../../core/compare.js";
import { mapLimit } from "../../../core/map-limit.js";
import {
  type CounterDelta,
  counterOfKey,
  mergeDeltas,
  type PeriodCounters,
} from "../../../core/rating/counters.js";
import type { EventSample, LedgerEvent } from "../../../core/rating/types.js";
import { type PeriodId, periodOf, shiftPeriod } from "../../../core/time.js";
import {
  type RawEventsReadOptions,
  type ShardsOf,
  shardsOf,
  type UsagePeriod,
} from "../../../ports/usage-store.js";
import { BUNDLE_SK, bundleOf } from "../fold/counter-bundle-codec.js";
import { accountPk } from "../items/keys.js";
import {
  countedEventsItem,
  counterItem,
  ctrPk,
  EVENTS_SK,
  evtPk,
  rawPageItem,
  storedAtOfPage,
  USAGE_PREFIX,
  usageMarkerItem,
} from "../items/usage-period.js";
import { consistentQuery, itemsOfPk, S, type UsageTable } from "./keys.js";

const EMPTY_PAGE = { c: 0, z: new Uint8Array() };

/** Envelope fields whose values repeat across an account's events (one string each, shared). */
const SHARED_FIELDS = ["specversion", "source", "type", "subject", "datacontenttype", "dataschema"] as const;

/**
 * The event as parsed, with its repeated envelope strings shared: JSON.parse allocates every value
 * anew, so 500,000 events of one account would hold 500,000 copies of its source, type and subject.
 * Nothing is dropped or changed: the event is the one stored (G6 needs every field a rule reads).
 */
function compactEvent(e: LedgerEvent, strings: Map<string, string>): LedgerEvent {
  const m = e as unknown as Record<string, unknown>;
  for (const f of SHARED_FIELDS) {
    const v = m[f];
    if (typeof v !== "string") continue;
    const shared = strings.get(v);
    if (shared === undefined) strings.set(v, v);
    else m[f] = shared;
  }
  return e;
}

export class UsagePeriodReads {
  constructor(
    private readonly t: UsageTable,
    private readonly shards: number,
  ) {}

  async usagePeriods(accountId: string): Promise<PeriodId[]> {
    return (await this.usageMarkers(accountId)).map((m) => m.period);
  }

  async usageMarkers(accountId: string): Promise<UsagePeriod[]> {
    const items = await consistentQuery(this.t, {
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": S(accountPk(accountId)), ":p": S(USAGE_PREFIX) },
    });
    return items
      .map((i) => {
        const m = usageMarkerItem.av.decode(i);
        // A marker that names its shards names both kinds (an absent kind: no shard); an older one names neither.
        const recorded = m.counterShards !== undefined || m.pageShards !== undefined;
        return {
          period: m.period,
          ...(recorded ? { counterShards: m.counterShards ?? [], pageShards: m.pageShards ?? [] } : {}),
          ...(m.closed ? { closed: true } : {}),
          // Conflicts are known absent only where the marker tracks them.
          ...(m.tracksConflicts && !m.conflicts ? { noConflicts: true } : {}),
        };
      })
      .sort((a, b) => compareStrings(a.period, b.period));
  }

  /** Shards to read: those the marker recorded, else (no marker passed, or one that names none) all. */
  private shardList(recorded: readonly number[] | undefined): readonly number[] {
    return recorded ?? Array.from({ length: this.shards }, (_, s) => s);
  }

  async statefulEventsOf(
    accountId: string,
    periods: readonly PeriodId[],
    where?: ShardsOf,
    opts: RawEventsReadOptions = {},
  ): Promise<LedgerEvent[]> {
    const pks = periods.flatMap((p) =>
      this.shardList(where?.get(p)?.pageShards).map((s) => evtPk(accountId, p, s)),
    );
    // Only each page's deflated bytes and event count are kept from the responses: a page's JSON
    // text is inflated and parsed one page at a time, after the caller has seen the total size.
    const pages = (
      await mapLimit(pks, 8, async (pk) =>
        (
          await itemsOfPk(this.t, pk)
        ).map((i) => {
          const { events, deflated } = rawPageItem.av.decode(i);
          return { c: events, z: deflated };
        }),
      )
    ).flat();
    await opts.beforeDecode?.({
      events: pages.reduce((n, p) => n + p.c, 0),
      deflatedBytes: pages.reduce((n, p) => n + p.z.byteLength, 0),
    });
    const out: LedgerEvent[] = [];
    const strings = new Map<string, string>();
    for (let k = 0; k < pages.length; k++) {
      const z = pages[k]!.z;
      pages[k] = EMPTY_PAGE; // its bytes can go as soon as the page is parsed
      for (const e of JSON.parse(inflateRawSync(z).toString("utf8")) as LedgerEvent[])
        out.push(compactEvent(e, strings));
    }
    return out;
  }

  async rawEventsStoredSince(
    accountId: string,
    period: PeriodId,
    since: number,
    limit: number,
  ): Promise<EventSample[]> {
    // Page sort keys are `<attempt id>#<n>`, the attempt id `<storage ms>-<uuid>`: a key range, no filter.
    const pages = await mapLimit(
      Array.from({ length: this.shards }, (_, s) => evtPk(accountId, period, s)),
      8,
      (pk) =>
        consistentQuery(this.t, {
          KeyConditionExpression: "pk = :pk AND sk >= :since",
          ExpressionAttributeValues: { ":pk": S(pk), ":since": S(String(since)) },
        }),
    );
    const out: EventSample[] = [];
    for (const i of pages.flat()) {
      const storedAt = storedAtOfPage(i.sk?.S ?? "");
      for (const e of JSON.parse(
        inflateRawSync(rawPageItem.av.decode(i).deflated).toString("utf8"),
      ) as LedgerEvent[])
        if (out.length < limit) out.push({ source: e.source, id: e.id, time: e.time, storedAt });
    }
    return out;
  }

  /** Raw events with t < until (periods are local months: those up to the next UTC month are read). */
  async eventsOf(accountId: string, until: number): Promise<LedgerEvent[]> {
    const last = shiftPeriod(periodOf(until, "UTC"), 1);
    const markers = (await this.usageMarkers(accountId)).filter((m) => m.period <= last);
    const periods = markers.map((m) => m.period);
    return (await this.statefulEventsOf(accountId, periods, shardsOf(markers))).filter((e) => e.t < until);
  }

  async countersOf(accountId: string, period: PeriodId, where?: ShardsOf): Promise<PeriodCounters> {
    const rows = (
      await mapLimit(
        this.shardList(where?.get(period)?.counterShards).map((s) => ctrPk(accountId, period, s)),
        8,
        (pk) => itemsOfPk(this.t, pk),
      )
    ).flat();
    let events = 0;
    let newest = Number.NEGATIVE_INFINITY;
    const counters: CounterDelta[] = [];
    const count = (e: { events?: number | undefined; newest?: number | undefined }) => {
      events += e.events ?? 0;
      if (e.newest !== undefined) newest = Math.max(newest, e.newest);
    };
    for (const r of rows) {
      const sk = r.sk?.S ?? "";
      if (sk === EVENTS_SK) count(countedEventsItem.av.decode(r));
      // The fold's bundle: the (account, period)'s counters in one item (counter-bundle-codec.ts).
      else if (sk === BUNDLE_SK) {
        const b = bundleOf(r);
        if (!b) continue;
        count(b);
        for (const [key, c] of b.counters)
          counters.push(counterOfKey(key, c.quantity, c.events, [c.first, c.latest]));
      } else {
        const c = counterItem.av.decode(r);
        count({ events: c.shardEvents, newest: c.newest });
        counters.push(counterOfKey(sk, c.quantity, c.events, [c.first, c.latest]));
      }
    }
    return {
      counters: mergeDeltas(counters),
      events,
      ...(Number.isFinite(newest) ? { newestEventAt: newest } : {}),
    };
  }
}

/**
 * An account's usage of one period, outside the fold's counter bundles (fold/counter-bundle-codec.ts):
 * its usage marker, its counters kept one item each, the shard's count of counted events, and its
 * pages of raw events (usage/markers.ts, usage/period-reads.ts, usage-bulk-load.ts, the fold's run).
 *
 * | item             | pk                             | sk                     | attributes |
 * |------------------|--------------------------------|------------------------|------------|
 * | usage marker     | ACCT#<account>                 | USAGE#<period>         | period; cs, ps shards of counters and pages; closed; cf a conflict, cft tracked; ix indexed |
 * | counter          | CTR#<account>#<period>#<shard> | <JSON counter key>     | q quantity, n events; e the shard's counted events; t newest; s, l samples; fr fold run |
 * | counted events   | CTR#<account>#<period>#<shard> | #EVENTS                | e, t       |
 * | page of raw events | EVT#<account>#<period>#<shard> | <write>#<n>          | c events, z deflated JSON array |
 *
 * A counter gets its own item where it no longer fits its bundle (the fold), or from a bulk load;
 * `#EVENTS` holds the shard's count where a load has events but no counter.
 */
import type { PeriodId } from "../../../core/time.js";
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { bool, bytes, decimal, itemCodec, num, numSet, opt, orElse, str } from "./codec.js";
import { accountPeriodKey, accountPk } from "./keys.js";

export const USAGE_PREFIX = "USAGE#";

export const usageMarkerItem = itemCodec({
  kind: "usage marker",
  key: accountPeriodKey(accountPk, USAGE_PREFIX),
  fields: {
    period: str<PeriodId>("period"),
    /** Shards holding the period's counters and pages; a marker from before them names neither. */
    counterShards: opt(numSet("cs")),
    pageShards: opt(numSet("ps")),
    /** The period's close is done: a later close skips its record. */
    closed: orElse(bool("closed"), false),
    /** A conflict was recorded for the period … */
    conflicts: orElse(bool("cf"), false),
    /** … as far as the marker tracks them (markers from before the flag do not). */
    tracksConflicts: orElse(bool("cft"), false),
    /** The period's entry in the unclosed-usage index is written. */
    indexed: orElse(bool("ix"), false),
  },
  // ≈ 150 B with every shard named; the account id is the configuration's (≤ 1,024 bytes there).
  maxBytes: ITEM_LIMIT_BYTES,
});

export const ctrPk = (accountId: string, period: PeriodId, shard: number) =>
  `CTR#${accountId}#${period}#${shard}`;
export const evtPk = (accountId: string, period: PeriodId, shard: number) =>
  `EVT#${accountId}#${period}#${shard}`;
export const EVENTS_SK = "#EVENTS";

/** Counters and pages: an item of one shard of the (account, period), under its own sort key. */
const inShard =
  (pkOf: (accountId: string, period: PeriodId, shard: number) => string) =>
  (k: {
    readonly accountId: string;
    readonly period: PeriodId;
    readonly shard: number;
    readonly sk: string;
  }) => ({
    pk: pkOf(k.accountId, k.period, k.shard),
    sk: k.sk,
  });

/** `sk`: the counter's key (JSON). */
export const counterItem = itemCodec({
  kind: "counter",
  key: inShard(ctrPk),
  fields: {
    /** Exact: added to with ADD, read as the stored decimal string. */
    quantity: orElse(decimal("q"), "0"),
    events: orElse(num("n"), 0),
    /** The shard's counted events, on one of its counters (bulk loads). */
    shardEvents: opt(num("e")),
    /** The newest counted event's time (epoch ms). */
    newest: opt(num("t")),
    /** The first and the latest sample of the counter's events. */
    first: opt(str("s")),
    latest: opt(str("l")),
    /** The last fold run whose increment it carries. */
    run: opt(num("fr")),
  },
  // ≈ 1 KB (dimension values ≤ 128 characters, samples ≤ 2 × 300 B), bounded upstream; the fold
  // increments it with UpdateItem, which no codec bound sees: only a bulk load's put is checked.
  maxBytes: ITEM_LIMIT_BYTES,
});

export const countedEventsItem = itemCodec({
  kind: "counted events",
  key: (k: { accountId: string; period: PeriodId; shard: number }) => inShard(ctrPk)({ ...k, sk: EVENTS_SK }),
  fields: { events: num("e"), newest: opt(num("t")) },
  maxBytes: ITEM_LIMIT_BYTES,
});

/** A page's sort key: the write (its storage instant first, where it has one) and the page's number. */
export const pageSk = (write: string, n: number) => `${write}#${n}`;
/** The storage instant a page's sort key starts with (NaN for a bulk load's). */
export const storedAtOfPage = (sk: string) => Number(sk.split("-")[0]);

/** `sk`: pageSk(write, n). */
export const rawPageItem = itemCodec({
  kind: "page of raw events",
  key: inShard(evtPk),
  fields: {
    events: orElse(num("c"), 0),
    /** Deflate of ≤ MAX_PAGE_JSON bytes of the events' JSON array, checked ≤ MAX_COMPRESSED_BYTES. */
    deflated: orElse(bytes("z"), new Uint8Array()),
  },
  maxBytes: ITEM_LIMIT_BYTES,
});

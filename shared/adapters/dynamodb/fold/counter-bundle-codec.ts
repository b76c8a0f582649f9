/**
 * Counter bundles (docs/data-model.md, "Journal and fold"): the monthly counters of one (account,
 * period) the fold writes, in one item rewritten whole once per fold run that touches it, instead
 * of one item per counter — a run then costs one write per (account, period), not per counter.
 *
 * | pk                                 | sk       | attributes                                          |
 * |------------------------------------|----------|-----------------------------------------------------|
 * | CTR#<account>#<period>#0           | #BUNDLE  | z (deflated counters), e counted events, t newest,  |
 * |                                    |          | fr the fold run it carries, m usage kinds marked    |
 *
 * Bounded: counters are added while the JSON stays under MAX_BUNDLE_JSON UTF-8 bytes; a counter
 * that does not fit is written as its own item (the per-counter layout), once, and stays there.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { checkedCompressed } from "../item-size.js";

type ItemAv = Record<string, AttributeValue>;

export const BUNDLE_SK = "#BUNDLE";
/** UTF-8 bytes of a bundle's JSON: room for hundreds of counters with their samples, deflated far below 400 KB. */
export const MAX_BUNDLE_JSON = 250_000;

export interface BundledCounter {
  quantity: string;
  events: number;
  newest: number;
  first?: string;
  latest?: string;
}

export interface CounterBundle {
  /** The fold run whose increments it carries (0: none yet). */
  readonly run: number;
  /** Counted events of the (account, period). */
  readonly events: number;
  /** Newest counted event time (preview freshness); undefined before any. */
  readonly newest?: number;
  /** Usage kinds its marker names ("c" counters, "p" pages): marked once, by the fold. */
  readonly marked: readonly string[];
  readonly counters: ReadonlyMap<string, BundledCounter>;
}

type Stored = [key: string, q: string, n: number, t: number, s: string | null, l: string | null][];

/** The JSON of the counters (checked against MAX_BUNDLE_JSON by the caller that fills it). */
export const countersJson = (counters: ReadonlyMap<string, BundledCounter>): string =>
  JSON.stringify(
    [...counters].map(([k, c]) => [k, c.quantity, c.events, c.newest, c.first ?? null, c.latest ?? null]),
  );

/** UTF-8 bytes one counter adds to the bundle's JSON. */
export const counterBytes = (key: string, c: BundledCounter): number =>
  Buffer.byteLength(
    JSON.stringify([key, c.quantity, c.events, c.newest, c.first ?? null, c.latest ?? null]),
  ) + 1;

/** The fold run a bundle carries: the condition of its rewrite names it. */
export const BUNDLE_RUN_ATTR = "fr";

export function bundleItem(pk: string, b: CounterBundle): ItemAv {
  return {
    pk: { S: pk },
    sk: { S: BUNDLE_SK },
    z: {
      B: checkedCompressed(`counter bundle of ${pk}`, deflateRawSync(Buffer.from(countersJson(b.counters)))),
    },
    e: { N: String(b.events) },
    ...(b.newest !== undefined ? { t: { N: String(b.newest) } } : {}),
    [BUNDLE_RUN_ATTR]: { N: String(b.run) },
    ...(b.marked.length > 0 ? { m: { SS: [...b.marked] } } : {}),
  };
}

export function bundleOf(item: ItemAv | undefined): CounterBundle | undefined {
  if (!item) return undefined;
  const stored = item.z?.B ? (JSON.parse(inflateRawSync(item.z.B).toString("utf8")) as Stored) : [];
  return {
    run: Number(item[BUNDLE_RUN_ATTR]?.N ?? 0),
    events: Number(item.e?.N ?? 0),
    ...(item.t?.N !== undefined ? { newest: Number(item.t.N) } : {}),
    marked: item.m?.SS ?? [],
    counters: new Map(
      stored.map(([k, q, n, t, s, l]) => [
        k,
        {
          quantity: q,
          events: n,
          newest: t,
          ...(s !== null ? { first: s } : {}),
          ...(l !== null ? { latest: l } : {}),
        },
      ]),
    ),
  };
}

/**
 * The fold state of one shard (docs/data-model.md, "Journal and fold"): one item, rewritten with a
 * condition on its run number at each run's start and flagged done at its end.
 *
 * | pk            | sk    | attributes                                                        |
 * |---------------|-------|-------------------------------------------------------------------|
 * | FOLD#<shard>  | STATE | r run, d done, k settled (ms), at run instant, j attempts of the   |
 * |               |       | run and x attempts folded early (each deflated JSON)               |
 *
 * Bounded: a run holds at most `RUN_BOUNDS.attempts` attempts and the early list `RUN_BOUNDS.earlyAttempts`
 * (≈ 50 bytes each before compression): ≤ 200 KB of JSON, checked after deflating.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { FoldState } from "../../../core/usage-fold.js";
import { checkedCompressed } from "../item-size.js";

type ItemAv = Record<string, AttributeValue>;

/** The attributes the state's conditions name: its run number and its done flag. */
export const FOLD_STATE_ATTR = { run: "r", done: "d" } as const;

export const foldStateKey = (shard: number): ItemAv => ({ pk: { S: `FOLD#${shard}` }, sk: { S: "STATE" } });

const packList = (what: string, xs: readonly string[]): AttributeValue => ({
  B: checkedCompressed(what, deflateRawSync(Buffer.from(JSON.stringify(xs)))),
});
const unpackList = (v: AttributeValue | undefined): string[] =>
  v?.B ? (JSON.parse(inflateRawSync(v.B).toString("utf8")) as string[]) : [];

export function foldStateItem(shard: number, s: FoldState): ItemAv {
  return {
    ...foldStateKey(shard),
    [FOLD_STATE_ATTR.run]: { N: String(s.run) },
    [FOLD_STATE_ATTR.done]: { BOOL: s.done },
    k: { N: String(s.settled) },
    at: { N: String(s.at) },
    j: packList(`fold run ${s.run} of shard ${shard}`, s.attempts),
    x: packList(`early attempts of fold shard ${shard}`, s.extra),
  };
}

export function foldStateOf(item: ItemAv | undefined): FoldState | undefined {
  if (!item) return undefined;
  return {
    run: Number(item[FOLD_STATE_ATTR.run]?.N ?? 0),
    done: item[FOLD_STATE_ATTR.done]?.BOOL === true,
    settled: Number(item.k?.N ?? 0),
    at: Number(item.at?.N ?? 0),
    attempts: unpackList(item.j),
    extra: unpackList(item.x),
  };
}

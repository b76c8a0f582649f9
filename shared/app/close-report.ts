/**
 * The lists of a close report at any size (issue 9 item 4): conflicts, rejected messages and
 * suspense appear in the report as a count with the first samples; the full list is stored in
 * chunks (≤ 1,000 entries, ≤ 100 KB of JSON each) beside the close record, written under the close
 * claim, so neither the close record nor any chunk approaches DynamoDB's 400 KB item limit however
 * long the list. The lists are read page by page from per-account indexes and written as they are
 * read: the close never holds more than a few chunks of a list in memory.
 */

import type { ReportList, ReportLists, SuspenseList, SuspenseSummary } from "../core/close-report.js";
import { compareStrings } from "../core/compare.js";
import { compositeKey } from "../core/keys.js";
import { formatDecimal, ZERO } from "../core/money.js";
import type { SuspenseItem } from "../core/rating/types.js";
import type { PeriodId } from "../core/time.js";
import type { DeadLetterStore, PeriodStore, ReportChunk } from "../ports/storage.js";
import type { ShardsOf, UsageStore } from "../ports/usage-store.js";

/** Entries of a list shown in the report itself (the first ones, in the list's order). */
export const REPORT_SAMPLES = 20;
/** A stored chunk holds at most this many entries and this much JSON (before compression). */
export const CHUNK_ENTRIES = 1000;
export const CHUNK_JSON_BYTES = 100_000;
/** Chunks handed to the store at once (one claim-checked transaction holds at most 24). */
const FLUSH_CHUNKS = 24;

/** Suspense grouped by product and reason, in (product, reason) order. */
export function summarizeSuspense(items: readonly SuspenseItem[]): SuspenseSummary[] {
  const groups = new Map<
    string,
    { product: string; reason: string; quantity: typeof ZERO; events: number }
  >();
  for (const s of items) {
    const k = compositeKey(s.product, s.reason);
    const g = groups.get(k) ?? { product: s.product, reason: s.reason, quantity: ZERO, events: 0 };
    g.quantity = g.quantity.plus(s.quantity);
    g.events += s.events ?? 1;
    groups.set(k, g);
  }
  return [...groups.values()]
    .sort((a, b) => compareStrings(a.product + a.reason, b.product + b.reason))
    .map((g) => ({ ...g, quantity: formatDecimal(g.quantity) }));
}

/** Where chunks go: the period store under the claim; false once the claim is lost. */
export type ChunkSink = (chunks: readonly ReportChunk[]) => Promise<boolean>;

/**
 * Counts the entries, keeps the first 20, and — once there are more than 20 — stores the whole list
 * in chunks through `sink`, as it is read. Deterministic for the same entries in the same order, so
 * a re-run after a crash writes the same chunks. Undefined when the claim was lost.
 */
export async function storeReportList<T>(
  name: string,
  entries: AsyncIterable<T> | Iterable<T>,
  sink: ChunkSink,
): Promise<ReportList<T> | undefined> {
  const samples: T[] = [];
  let count = 0;
  let chunk: string[] = [];
  let chunkBytes = 0;
  let chunkNo = 0;
  let pending: ReportChunk[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const ok = pending.length === 0 || (await sink(pending));
    pending = [];
    pendingBytes = 0;
    return ok;
  };
  const close = async () => {
    if (chunk.length === 0) return true;
    pending.push({ list: name, chunk: chunkNo++, entries: chunk.map((j) => JSON.parse(j) as unknown) });
    pendingBytes += chunkBytes;
    chunk = [];
    chunkBytes = 0;
    return pending.length >= FLUSH_CHUNKS || pendingBytes >= 2_000_000 ? flush() : true;
  };
  for await (const e of entries) {
    count += 1;
    if (samples.length < REPORT_SAMPLES) samples.push(e);
    const json = JSON.stringify(e);
    const bytes = Buffer.byteLength(json) + 1;
    if (chunk.length > 0 && (chunk.length >= CHUNK_ENTRIES || chunkBytes + bytes > CHUNK_JSON_BYTES))
      if (!(await close())) return undefined;
    chunk.push(json);
    chunkBytes += bytes;
  }
  if (count <= REPORT_SAMPLES) return { count, samples, chunks: 0, where: null };
  if (!(await close()) || !(await flush())) return undefined;
  return { count, samples, chunks: chunkNo, where: name };
}

async function storeSuspense(
  name: string,
  items: readonly SuspenseItem[],
  sink: ChunkSink,
): Promise<SuspenseList | undefined> {
  const groups = summarizeSuspense(items);
  const list = await storeReportList(name, groups, sink);
  return list && { ...list, events: groups.reduce((s, g) => s + g.events, 0) };
}

export interface ReportListSources {
  readonly accountId: string;
  readonly period: PeriodId;
  /** The period's window in the account's time zone: rejected messages received in it are listed. */
  readonly window: { readonly start: number; readonly end: number };
  readonly suspense: readonly SuspenseItem[];
  readonly suspenseCarried: readonly { referencePeriod: PeriodId; items: readonly SuspenseItem[] }[];
  /** No earlier attempt at this close wrote chunks (a fresh claim): none are looked for to remove. */
  readonly fresh?: boolean;
  /** The account's usage markers, as read by the close: a period recorded without conflicts is not read. */
  readonly markers?: ShardsOf;
}

/**
 * Builds the report's lists and stores the long ones under the close claim of `owner`, removing
 * chunks a crashed earlier attempt wrote that this one does not (the same close, re-run, leaves
 * exactly its own chunks). Reads the period's conflicts and the account's rejected messages from
 * their indexes, never the whole dead-letter list. Undefined when the claim was lost.
 */
export async function writeReportLists(
  deps: {
    readonly usage: Pick<UsageStore, "periodConflicts">;
    readonly deadLetters: Pick<DeadLetterStore, "accountLetters">;
    readonly periods: Pick<PeriodStore, "writeReportChunks">;
  },
  owner: string,
  src: ReportListSources,
): Promise<ReportLists | undefined> {
  const { accountId, period } = src;
  const sink: ChunkSink = (chunks) => deps.periods.writeReportChunks(accountId, period, owner, chunks);
  const suspense = await storeSuspense("suspense", src.suspense, sink);
  if (!suspense) return undefined;
  const suspenseCarried: ReportLists["suspenseCarried"] = [];
  for (const c of src.suspenseCarried) {
    const items = await storeSuspense(`suspenseCarried/${c.referencePeriod}`, c.items, sink);
    if (!items) return undefined;
    suspenseCarried.push({ referencePeriod: c.referencePeriod, items });
  }
  const conflicts = await storeReportList(
    "conflicts",
    mapAsync(deps.usage.periodConflicts(accountId, period, src.markers), (c) => ({
      source: c.source,
      id: c.id,
      seenAt: new Date(c.seenAt).toISOString(),
    })),
    sink,
  );
  if (!conflicts) return undefined;
  const rejectedMessages = await storeReportList(
    "rejectedMessages",
    mapAsync(
      deps.deadLetters.accountLetters(accountId, { from: src.window.start, until: src.window.end }),
      (d) => ({
        deadLetterId: d.deadLetterId,
        messageId: d.messageId,
        receivedAt: new Date(d.receivedAt).toISOString(),
        reason: d.reason,
      }),
    ),
    sink,
  );
  if (!rejectedMessages) return undefined;
  const keep: Record<string, number> = {
    suspense: suspense.chunks,
    conflicts: conflicts.chunks,
    rejectedMessages: rejectedMessages.chunks,
  };
  for (const c of suspenseCarried) keep[`suspenseCarried/${c.referencePeriod}`] = c.items.chunks;
  if (!src.fresh && !(await deps.periods.writeReportChunks(accountId, period, owner, [], keep)))
    return undefined;
  return { suspense, suspenseCarried, conflicts, rejectedMessages };
}

/**
 * The whole of one list of a stored report, chunk by chunk (one read per chunk): the samples when
 * the list is complete in them.
 */
export async function* readReportList<T>(
  periods: Pick<PeriodStore, "readReportChunk">,
  accountId: string,
  period: PeriodId,
  list: ReportList<T>,
): AsyncIterable<T> {
  if (list.chunks === 0 || list.where === null) {
    yield* list.samples;
    return;
  }
  for (let i = 0; i < list.chunks; i++) {
    const entries = await periods.readReportChunk(accountId, period, list.where, i);
    if (!entries) throw new Error(`report list ${list.where} of ${accountId} ${period}: chunk ${i} missing`);
    yield* entries as T[];
  }
}

/** The named lists of a report (for exports): name, and the list. */
export function reportListsOf(report: ReportLists): [string, ReportList<unknown>][] {
  return [
    ["suspense", report.suspense],
    ...report.suspenseCarried.map((c): [string, ReportList<unknown>] => [
      `suspenseCarried/${c.referencePeriod}`,
      c.items,
    ]),
    ["conflicts", report.conflicts],
    ["rejectedMessages", report.rejectedMessages],
  ];
}

async function* mapAsync<T, R>(src: AsyncIterable<T>, f: (t: T) => R): AsyncIterable<R> {
  for await (const t of src) yield f(t);
}

/**
 * Journal items (docs/data-model.md, "Journal and fold"): what one attempt adds to the accounts of
 * one fold shard, as deflated JSON parts of at most MAX_PAYLOAD_BYTES UTF-8 bytes each.
 *
 * | pk                                  | sk                      | attributes                         |
 * |-------------------------------------|-------------------------|------------------------------------|
 * | JRNL#<fold shard>#<UTC day>          | <attempt id>#<part n>   | z (deflated groups), n events of  |
 * |                                     |                         | the part, expiresAt               |
 *
 * The bucket is the attempt's start (its id's instant) as a UTC day number: a fold reads from its
 * settled bound on (`sk > <bound>`: only what is new), usually one Query, two across midnight; a
 * first run reads the JOURNAL_RETENTION_MS before it (35 Queries). One key takes a day of a
 * shard's journals: at 10,000 events/s, ≈ 10 attempts/s × a few KB ≈ 50 WRU/s, far below a
 * partition's 1,000; the key has no size limit (no local index). `n` lets the scheduled fold's
 * volume probe weigh a shard's pending journals without inflating them.
 */
import { inflateRawSync } from "node:zlib";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { EXPIRES_AT_ATTRIBUTE } from "../../../core/identity-retention.js";
import type { LedgerEvent } from "../../../core/rating/types.js";
import {
  attemptStart,
  JOURNAL_RETENTION_MS,
  type Journal,
  type JournalCounter,
  type JournalGroup,
} from "../../../core/usage-fold.js";
import { deflatedJsonArrays, MAX_PAYLOAD_BYTES } from "../item-size.js";

type ItemAv = Record<string, AttributeValue>;

/** Journals are bucketed by their attempt's start, in steps of this many milliseconds (a UTC day). */
export const JOURNAL_BUCKET_MS = 24 * 3_600_000;

export const journalBucket = (at: number) => Math.floor(at / JOURNAL_BUCKET_MS);
export const journalPk = (shard: number, bucket: number) => `JRNL#${shard}#${bucket}`;
/** The sort key below every attempt started after `after` (ids are `<13-digit ms>-<uuid>`). */
export const journalSkAfter = (after: number) => `${after}-~`;

/** A group as stored: short positional fields (the named ones are JournalGroup's). */
type StoredCounter = [key: string, q: string, n: number, t: number, s: string | null, l: string | null];
type StoredGroup = [
  a: string,
  p: string,
  end: number | null,
  checks: [string, 0 | 1][],
  counted: number,
  uncharged: number | null,
  counters: StoredCounter[],
  raw: LedgerEvent[],
];

const toStored = (g: JournalGroup): StoredGroup => [
  g.accountId,
  g.period,
  g.end ?? null,
  g.checks.map(([p, later]) => [p, later ? 1 : 0]),
  g.counted,
  g.uncharged ?? null,
  g.counters.map((c) => [c.key, c.quantity, c.events, c.newest, c.first ?? null, c.latest ?? null]),
  [...g.raw],
];

const fromStored = ([a, p, end, checks, counted, uncharged, counters, raw]: StoredGroup): JournalGroup => ({
  accountId: a,
  period: p,
  ...(end !== null ? { end } : {}),
  checks: checks.map(([q, later]) => [q, later === 1] as const),
  counted,
  ...(uncharged !== null ? { uncharged } : {}),
  counters: counters.map(
    ([key, quantity, events, newest, first, latest]): JournalCounter => ({
      key,
      quantity,
      events,
      newest,
      ...(first !== null ? { first } : {}),
      ...(latest !== null ? { latest } : {}),
    }),
  ),
  raw,
});

/**
 * The groups as parts of at most MAX_PAYLOAD_BYTES of JSON each (a group too large for one part is
 * cut between its raw events: its counters ride in the first piece), each deflated and checked.
 */
export function encodeJournal(groups: readonly JournalGroup[]): { z: Uint8Array; events: number }[] {
  const pieces: string[] = [];
  /** Events each piece carries (counted and raw), for the part's `n`. */
  const events: number[] = [];
  for (const g of groups) {
    const whole = JSON.stringify(toStored(g));
    if (Buffer.byteLength(whole) + 1 <= MAX_PAYLOAD_BYTES - 2) {
      pieces.push(whole);
      events.push(g.counted + g.raw.length);
      continue;
    }
    // Cut the raw events into pieces that fit (an event is at most 300,000 bytes minus its envelope:
    // ingest refuses larger ones).
    let raw: LedgerEvent[] = [];
    let bytes = Buffer.byteLength(JSON.stringify(toStored({ ...g, raw: [] })));
    let head = true;
    const flush = () => {
      const piece: JournalGroup = head
        ? { ...g, raw }
        : { accountId: g.accountId, period: g.period, checks: [], counted: 0, counters: [], raw };
      pieces.push(JSON.stringify(toStored(piece)));
      events.push(piece.counted + piece.raw.length);
      head = false;
      raw = [];
      bytes = 200;
    };
    for (const e of g.raw) {
      const size = Buffer.byteLength(JSON.stringify(e)) + 1;
      if (raw.length > 0 && bytes + size > MAX_PAYLOAD_BYTES - 400) flush();
      raw.push(e);
      bytes += size;
    }
    flush();
  }
  // The array's brackets count too.
  let next = 0;
  return deflatedJsonArrays(pieces, MAX_PAYLOAD_BYTES, (n) => `journal part of ${n} groups`, 2).map(
    (part) => {
      const of = events.slice(next, next + part.count).reduce((a, b) => a + b, 0);
      next += part.count;
      return { z: part.z, events: of };
    },
  );
}

/** A part's event count: what the fold's volume probe projects. */
export const JOURNAL_EVENTS_ATTR = "n";
export const journalEventsOf = (item: ItemAv): number => Number(item[JOURNAL_EVENTS_ATTR]?.N ?? 0);

/** The journal item of one part. */
export function journalItem(
  shard: number,
  attempt: string,
  n: number,
  part: { z: Uint8Array; events: number },
): ItemAv {
  const at = attemptStart(attempt);
  return {
    pk: { S: journalPk(shard, journalBucket(at)) },
    sk: { S: `${attempt}#${n}` },
    z: { B: part.z },
    [JOURNAL_EVENTS_ATTR]: { N: String(part.events) },
    [EXPIRES_AT_ATTRIBUTE]: { N: String(Math.ceil((at + JOURNAL_RETENTION_MS) / 1000)) },
  };
}

/** The attempt a journal item belongs to. */
export const attemptOfItem = (item: ItemAv): string => {
  const sk = item.sk?.S ?? "";
  return sk.slice(0, sk.lastIndexOf("#"));
};

/** Journal items (any parts of any attempts) as one journal per attempt. */
export function decodeJournals(items: readonly ItemAv[]): Journal[] {
  const byAttempt = new Map<string, JournalGroup[]>();
  const sorted = [...items].sort((a, b) => {
    const x = a.sk?.S ?? "";
    const y = b.sk?.S ?? "";
    const ax = attemptOfItem(a);
    const ay = attemptOfItem(b);
    if (ax !== ay) return ax < ay ? -1 : 1;
    return Number(x.slice(x.lastIndexOf("#") + 1)) - Number(y.slice(y.lastIndexOf("#") + 1));
  });
  for (const item of sorted) {
    const attempt = attemptOfItem(item);
    const groups = byAttempt.get(attempt) ?? [];
    const stored = JSON.parse(
      inflateRawSync(item.z?.B ?? new Uint8Array()).toString("utf8"),
    ) as StoredGroup[];
    for (const g of stored) groups.push(fromStored(g));
    byAttempt.set(attempt, groups);
  }
  return [...byAttempt].map(([attempt, groups]) => ({ attempt, at: attemptStart(attempt), groups }));
}

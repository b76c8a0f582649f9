/**
 * The usage store's identity claims, attempt commits, carry-over snapshots and conflicts
 * (usage/claims.ts, usage/attempts.ts, usage/snapshots.ts, usage/conflicts.ts). Usage markers,
 * counters and pages: usage-period.ts.
 *
 * | item                  | pk                                      | sk                          | attributes |
 * |-----------------------|-----------------------------------------|-----------------------------|------------|
 * | identity claim (G5)   | ID#<identity>                           | ID                          | h hash, a account, p period, t event time, o owning attempt, at its start, expiresAt (TTL) |
 * | attempt commit        | COMMIT#<attempt id>                     | COMMIT                      | s state, at, events, expiresAt (TTL) |
 * | snapshot head         | SNAP#<account>#<period>                 | HEAD                        | w write id, parts, events; z the whole snapshot when one part |
 * | snapshot part         | SNAP#<account>#<period>                 | PART#<write id>#<n>         | n, z       |
 * | conflict (G5)         | ACCT#<account of the first>             | CONFLICT#<identity>#<hash>  | source, id, firstHash, conflictingHash, conflictingBody, seenAt, t (the first's time) |
 * | conflict index        | CONFLICTS#<account>#<period of the first> | <identity>#<hash>         | source, id, seenAt |
 *
 * `<identity>`: the JSON [source, id], or its SHA-256 past 512 bytes (usage/keys.ts identityOf).
 */
import { EXPIRES_AT_ATTRIBUTE } from "../../../core/identity-retention.js";
import type { PeriodId } from "../../../core/time.js";
import { ITEM_LIMIT_BYTES } from "../item-size.js";
import { bytes, itemCodec, num, opt, str } from "./codec.js";
import { accountPk, idKeyed } from "./keys.js";

const claimKeys = idKeyed("identity", "ID#", "ID");

export const identityClaimItem = itemCodec({
  kind: "identity claim",
  key: claimKeys.key,
  fields: {
    /** SHA-256 of the event's canonical content: the same hash again is a duplicate, another a conflict. */
    hash: str("h"),
    accountId: str("a"),
    period: str<PeriodId>("p"),
    /** The event's time (epoch ms). */
    time: opt(num("t")),
    /** The attempt that owns the claim, and when it started (claims of a dead attempt are taken over). */
    owner: str("o"),
    ownerAt: opt(num("at")),
    /** TTL (epoch seconds): 400 days after the event's time, and a day. */
    expiresAt: num(EXPIRES_AT_ATTRIBUTE),
  },
  // ≈ 250 B + the identity (≤ 512 bytes) + the account id (a sort key elsewhere: ≤ 1,024 bytes).
  maxBytes: 8_192,
});

/** The identity a claim's partition key names. */
export const identityOfClaimPk = claimKeys.idOf;

const commitKeys = idKeyed("attempt", "COMMIT#", "COMMIT");

export const attemptCommitItem = itemCodec({
  kind: "attempt commit",
  key: commitKeys.key,
  fields: {
    /** Committed by the attempt, or aborted by another that took its claims over. */
    state: str<"committed" | "aborted">("s"),
    at: num("at"),
    /** The attempt's events (a commit only). */
    events: opt(num("events")),
    /** TTL (epoch seconds): as long as the longest-lived claim that names the attempt. */
    expiresAt: num(EXPIRES_AT_ATTRIBUTE),
  },
  // An attempt id is `<ms>-<uuid>`.
  maxBytes: 1_024,
});

/** The attempt a commit record's partition key names. */
export const attemptOfCommitPk = commitKeys.idOf;

export const snapshotsPk = (accountId: string, period: PeriodId) => `SNAP#${accountId}#${period}`;
export const SNAPSHOT_HEAD_SK = "HEAD";
/** Every part of one write of a snapshot starts so. */
export const snapshotPartsOf = (write: string) => `PART#${write}#`;

export const snapshotHeadItem = itemCodec({
  kind: "snapshot head",
  key: (k: { accountId: string; period: PeriodId }) => ({
    pk: snapshotsPk(k.accountId, k.period),
    sk: SNAPSHOT_HEAD_SK,
  }),
  fields: {
    /** The write whose parts count. */
    write: str("w"),
    /** 0 when the snapshot is inline. */
    parts: num("parts"),
    events: num("events"),
    /** The whole snapshot (deflated) when it fits one part. */
    inline: opt(bytes("z")),
  },
  maxBytes: ITEM_LIMIT_BYTES,
});

export const snapshotPartItem = itemCodec({
  kind: "snapshot part",
  key: (k: { accountId: string; period: PeriodId; write: string; n: number }) => ({
    pk: snapshotsPk(k.accountId, k.period),
    sk: `${snapshotPartsOf(k.write)}${k.n}`,
  }),
  fields: {
    n: num("n"),
    /** Deflate of ≤ 300,000 UTF-8 bytes of the snapshot's JSON, checked ≤ MAX_COMPRESSED_BYTES. */
    deflated: bytes("z"),
  },
  maxBytes: ITEM_LIMIT_BYTES,
});

export const conflictItem = itemCodec({
  kind: "conflict",
  key: (k: { accountId: string; identity: string; hash: string }) => ({
    pk: accountPk(k.accountId),
    sk: `CONFLICT#${k.identity}#${k.hash}`,
  }),
  fields: {
    source: str("source"),
    id: str("id"),
    firstHash: str("firstHash"),
    conflictingHash: str("conflictingHash"),
    /** Kept up to 256,000 UTF-8 bytes, cut between whole characters. */
    conflictingBody: str("conflictingBody"),
    seenAt: num("seenAt"),
    /** The first's event time. */
    firstTime: num("t"),
  },
  maxBytes: ITEM_LIMIT_BYTES,
});

export const conflictsPk = (accountId: string, period: PeriodId) => `CONFLICTS#${accountId}#${period}`;

export const conflictIndexItem = itemCodec({
  kind: "conflict index entry",
  key: (k: { accountId: string; period: PeriodId; identity: string; hash: string }) => ({
    pk: conflictsPk(k.accountId, k.period),
    sk: `${k.identity}#${k.hash}`,
  }),
  fields: { source: str("source"), id: str("id"), seenAt: num("seenAt") },
  // Source ≤ 1,024 bytes, id ≤ 256 characters, the key.
  maxBytes: 8_192,
});

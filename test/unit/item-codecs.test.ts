/**
 * The item codecs write the items byte for byte as the stores wrote them before codecs (same keys,
 * attribute names and types): each kind's stored form is spelled out here, and read back.
 */
import { describe, expect, it } from "vitest";
import { ItemTooLargeError, itemBytes } from "../../shared/adapters/dynamodb/item-size.js";
import { zoneCursorItem } from "../../shared/adapters/dynamodb/items/close-schedule.js";
import { closeRecordItem, lineChunkItem } from "../../shared/adapters/dynamodb/items/closes.js";
import { itemCodec, json, num, opt, orElse, str } from "../../shared/adapters/dynamodb/items/codec.js";
import { accountItem, accountVersionItem } from "../../shared/adapters/dynamodb/items/config.js";
import {
  burstMarkerItem,
  deadLetterItem,
  letterIndexItem,
  letterIndexPk,
} from "../../shared/adapters/dynamodb/items/dead-letters.js";
import { explanationItem } from "../../shared/adapters/dynamodb/items/explanations.js";
import {
  lateConflictItem,
  lateConflictListItem,
} from "../../shared/adapters/dynamodb/items/late-conflicts.js";
import { lateMarkerItem } from "../../shared/adapters/dynamodb/items/late-markers.js";
import { usageRecordItem, watermarkItem } from "../../shared/adapters/dynamodb/items/marketplace.js";
import { periodIndexItem, periodListItem } from "../../shared/adapters/dynamodb/items/period-index.js";
import { reportChunkItem } from "../../shared/adapters/dynamodb/items/report-chunks.js";
import { unclosedItem } from "../../shared/adapters/dynamodb/items/unclosed-usage.js";
import {
  attemptCommitItem,
  attemptOfCommitPk,
  conflictIndexItem,
  conflictItem,
  identityClaimItem,
  snapshotHeadItem,
  snapshotPartItem,
} from "../../shared/adapters/dynamodb/items/usage.js";
import {
  countedEventsItem,
  counterItem,
  pageSk,
  rawPageItem,
  storedAtOfPage,
  usageMarkerItem,
} from "../../shared/adapters/dynamodb/items/usage-period.js";

describe("an item codec", () => {
  const codec = itemCodec({
    kind: "example",
    key: (k: { id: string }) => ({ pk: `EX#${k.id}`, sk: "EX" }),
    fields: { count: num("n"), note: opt(str("t")), body: json<{ a: number }>("x"), on: orElse(num("o"), 7) },
    maxBytes: 100,
  });

  it("maps named fields to short stored names and back, in both clients' forms", () => {
    const item = codec.item({ id: "1", count: 3, body: { a: 1 }, on: 2 });
    expect(item).toEqual({ pk: "EX#1", sk: "EX", n: 3, x: '{"a":1}', o: 2 });
    expect(codec.decode(item)).toEqual({ count: 3, body: { a: 1 }, on: 2 });
    const av = codec.av.item({ id: "1", count: 3, body: { a: 1 }, on: 2, note: "é" });
    expect(av).toEqual({
      pk: { S: "EX#1" },
      sk: { S: "EX" },
      n: { N: "3" },
      t: { S: "é" },
      x: { S: '{"a":1}' },
      o: { N: "2" },
    });
    expect(codec.av.decode(av)).toEqual({ count: 3, note: "é", body: { a: 1 }, on: 2 });
    // A field absent from an item written before it existed reads as its default.
    expect(codec.decode({ n: 1, x: "{}" }).on).toBe(7);
  });

  it("names fields in expressions by placeholders", () => {
    expect(codec.assign("count", "note")).toBe("#count = :count, #note = :note");
    expect(codec.names("count", "note")).toEqual({ "#count": "n", "#note": "t" });
    expect(codec.values({ count: 1, body: { a: 2 } })).toEqual({ ":count": 1, ":body": '{"a":2}' });
    expect(codec.projection("count")).toEqual({
      ProjectionExpression: "pk, sk, #count",
      ExpressionAttributeNames: { "#count": "n" },
    });
  });

  it("refuses an item over its bound, counted in UTF-8 bytes", () => {
    const fits = codec.item({ id: "1", count: 1, body: { a: 1 }, on: 1, note: "é".repeat(30) });
    expect(itemBytes(fits)).toBeLessThanOrEqual(100);
    // 40 characters, 80 bytes: over the bound in bytes, not in characters.
    expect(() => codec.item({ id: "1", count: 1, body: { a: 1 }, on: 1, note: "é".repeat(40) })).toThrow(
      ItemTooLargeError,
    );
  });
});

describe("stored items as before codecs", () => {
  it("configuration", () => {
    expect(
      accountItem.item({
        accountId: "acme",
        position: 0,
        accountJson: "{}",
        tariffRev: "r",
        version: undefined,
      }),
    ).toEqual({ pk: "CFG#ACCOUNT", sk: "acme", i: 0, account: "{}", tariffRev: "r" });
    expect(accountVersionItem.item({ accountId: "acme", from: 5, accountJson: "{}" })).toEqual({
      pk: "CFG#V#acme",
      sk: "000000000000005#V",
      from: 5,
      account: "{}",
    });
  });

  it("unclosed usage and the period index", () => {
    const long = "a".repeat(1001);
    expect(unclosedItem.item({ accountId: "acme", period: "2025-07", end: 9 })).toEqual({
      pk: "UNCLOSED#2025-07#2",
      sk: "acme",
      accountId: "acme",
      period: "2025-07",
      end: 9,
    });
    expect(unclosedItem.key({ accountId: long, period: "2025-07" }).sk).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(
      periodIndexItem.item({ accountId: "acme", period: "2025-07", closedAt: 1, references: ["2025-06"] }),
    ).toEqual({
      pk: "PERIOD#2025-07#2",
      sk: "acme",
      accountId: "acme",
      period: "2025-07",
      closedAt: 1,
      refs: ["2025-06"],
    });
    expect(periodListItem.decode({ pk: "PERIOD#LIST", sk: "2025-07", period: "2025-07" })).toEqual({
      period: "2025-07",
      changes: 0,
      manifested: 0,
    });
  });

  it("marketplace", () => {
    const record = {
      accountId: "acme",
      resourceId: "r",
      planId: "p",
      dimension: "sms",
      hour: Date.parse("2025-07-02T10:00:00Z"),
      effectiveStartTime: "2025-07-02T10:00:00Z",
      quantity: "1.5",
      byPeriod: { "2025-07": "1.5" },
      status: "pending" as const,
      failedAttempts: 0,
      createdAt: 1,
      updatedAt: 1,
    };
    expect(usageRecordItem.item(record)).toEqual({
      pk: "MKT#acme",
      sk: "USAGE#sms#2025-07-02T10:00:00Z",
      ...record,
    });
    expect(usageRecordItem.decode(usageRecordItem.item(record))).toEqual(record);
    expect(watermarkItem.key({ accountId: "acme" })).toEqual({ pk: "MKT#acme", sk: "WATERMARK" });
  });

  it("late conflicts", () => {
    const c = {
      accountId: "acme",
      referencePeriod: "2025-07",
      source: "/gw",
      id: "e1",
      hash: "h",
      seenAt: 5,
    };
    expect(lateConflictItem.item(c)).toEqual({ pk: "LATECF#acme", sk: '2025-07#["/gw","e1"]#h', ...c });
    expect(lateConflictListItem.item(c)).toEqual({
      pk: "LATECF#LIST#2",
      sk: '000000000000005#acme#2025-07#["/gw","e1"]#h',
      ...c,
    });
    expect(lateConflictListItem.decode(lateConflictListItem.item(c))).toEqual(c);
  });

  it("late conflicts: every key within DynamoDB's bounds (UTF-8 bytes) at the hash thresholds", () => {
    // Each part just under the 600 bytes past which it is hashed, in multi-byte characters.
    const accountId = "ç".repeat(300); // 600 bytes
    const id = "ğ".repeat((600 - Buffer.byteLength(JSON.stringify(["/gw", ""]))) / 2);
    const c = { accountId, referencePeriod: "2025-07", source: "/gw", id, hash: "h".repeat(64), seenAt: 5 };
    expect(Buffer.byteLength(JSON.stringify([c.source, c.id]))).toBe(600);
    for (const item of [lateConflictItem.item(c), lateConflictListItem.item(c)]) {
      expect(Buffer.byteLength(String(item.pk))).toBeLessThanOrEqual(2_048);
      expect(Buffer.byteLength(String(item.sk))).toBeLessThanOrEqual(1_024);
    }
    // Still one listing entry per conflict and instant, in the order of the instant.
    const other = lateConflictListItem.item({ ...c, id: `${id.slice(1)}x` });
    expect(other.sk).not.toBe(lateConflictListItem.item(c).sk);
    expect(String(other.sk).startsWith("000000000000005#")).toBe(true);
  });

  it("closes: record, line chunks, report chunks, explanations, late markers", () => {
    expect(
      closeRecordItem.item({
        accountId: "acme",
        period: "2025-07",
        status: "closed",
        startedAt: 1,
        closedAt: 2,
        report: { a: 1 },
      }),
    ).toEqual({
      pk: "BILL#acme",
      sk: "CLOSE#2025-07",
      accountId: "acme",
      period: "2025-07",
      status: "closed",
      startedAt: 1,
      closedAt: 2,
      report: '{"a":1}',
    });
    const z = new Uint8Array([1, 2]);
    expect(
      lineChunkItem.item({
        accountId: "acme",
        referencePeriod: "2025-06",
        period: "2025-07",
        chunk: 1,
        lines: 3,
        deflated: z,
      }),
    ).toEqual({ pk: "BILL#acme", sk: "LINE#2025-06#2025-07#C0001", period: "2025-07", n: 3, z });
    expect(
      reportChunkItem.item({
        accountId: "acme",
        period: "2025-07",
        list: "conflicts",
        chunk: 2,
        entries: 5,
        deflated: z,
      }),
    ).toEqual({ pk: "REPORT#acme#2025-07", sk: "conflicts#000002", n: 5, z });
    const explanation = { lineId: "L-1" } as unknown as Parameters<
      typeof explanationItem.item
    >[0]["explanation"];
    expect(
      explanationItem.item({ lineId: "L-1", explanation, accountId: "acme", period: "2025-07" }),
    ).toEqual({
      pk: "EXPL#L-1",
      sk: "EXPL",
      x: '{"lineId":"L-1"}',
      accountId: "acme",
      period: "2025-07",
    });
    expect(
      lateMarkerItem.decode({ pk: "ACCT#acme", sk: "LATE#2025-07", period: "2025-07", markedAt: 3 }),
    ).toEqual({
      period: "2025-07",
      markedAt: 3,
      later: true,
    });
    expect(zoneCursorItem.item({ zone: "UTC", period: "2025-07", done: false })).toEqual({
      pk: "SCHED#close",
      sk: "UTC",
      period: "2025-07",
      done: false,
    });
  });

  it("dead letters", () => {
    const letter = { deadLetterId: "m1", messageId: "m1", receivedAt: 7, reason: "bad", subject: "acme" };
    const stored = deadLetterItem.item({
      ...letter,
      bodyBytes: 2,
      bodySha256: "s",
      body: "{}",
      indexPk: "DLS#3#acme",
    });
    expect(stored).toMatchObject({ ...letter, bodyBytes: 2, bodySha256: "s", body: "{}", ix: "DLS#3#acme" });
    expect(stored.pk).toMatch(/^DEADLETTER#\d\d$/);
    expect(stored.sk).toBe("m1");
    expect(letterIndexItem.item({ ...letter, indexPk: letterIndexPk("acme") })).toEqual({
      pk: "DLA#acme",
      sk: "000000000000007#m1",
      deadLetterId: "m1",
      messageId: "m1",
      receivedAt: 7,
      reason: "bad",
    });
    expect(burstMarkerItem.item({ subject: "acme", receivedAt: 7, burst: true })).toEqual({
      pk: "DLA#acme",
      sk: "000000000000007#",
      burst: true,
      receivedAt: 7,
    });
  });

  it("usage: identity claims, snapshots, conflicts (low-level client)", () => {
    const claim = identityClaimItem.av.item({
      identity: '["/gw","e1"]',
      hash: "h",
      accountId: "acme",
      period: "2025-07",
      time: 5,
      owner: "A",
      ownerAt: 6,
      expiresAt: 7,
    });
    // The order of the PartiQL INSERT's names (usage/claims.ts insertOf) is the item's.
    expect(Object.keys(claim)).toEqual(["pk", "sk", "h", "a", "p", "t", "o", "at", "expiresAt"]);
    expect(claim).toEqual({
      pk: { S: 'ID#["/gw","e1"]' },
      sk: { S: "ID" },
      h: { S: "h" },
      a: { S: "acme" },
      p: { S: "2025-07" },
      t: { N: "5" },
      o: { S: "A" },
      at: { N: "6" },
      expiresAt: { N: "7" },
    });
    const z = new Uint8Array([1]);
    expect(
      snapshotHeadItem.av.item({
        accountId: "acme",
        period: "2025-09",
        write: "w",
        parts: 0,
        events: 2,
        inline: z,
      }),
    ).toEqual({
      pk: { S: "SNAP#acme#2025-09" },
      sk: { S: "HEAD" },
      w: { S: "w" },
      parts: { N: "0" },
      events: { N: "2" },
      z: { B: z },
    });
    expect(
      snapshotPartItem.av.item({ accountId: "acme", period: "2025-09", write: "w", n: 1, deflated: z }),
    ).toEqual({ pk: { S: "SNAP#acme#2025-09" }, sk: { S: "PART#w#1" }, n: { N: "1" }, z: { B: z } });
    const at = {
      accountId: "acme",
      identity: '["/gw","e1"]',
      hash: "h2",
      source: "/gw",
      id: "e1",
      seenAt: 9,
    };
    expect(conflictIndexItem.av.item({ ...at, period: "2025-07" })).toEqual({
      pk: { S: "CONFLICTS#acme#2025-07" },
      sk: { S: '["/gw","e1"]#h2' },
      source: { S: "/gw" },
      id: { S: "e1" },
      seenAt: { N: "9" },
    });
    expect(
      conflictItem.av.item({
        ...at,
        firstHash: "h1",
        conflictingHash: "h2",
        conflictingBody: "{}",
        firstTime: 3,
      }),
    ).toEqual({
      pk: { S: "ACCT#acme" },
      sk: { S: 'CONFLICT#["/gw","e1"]#h2' },
      source: { S: "/gw" },
      id: { S: "e1" },
      firstHash: { S: "h1" },
      conflictingHash: { S: "h2" },
      conflictingBody: { S: "{}" },
      seenAt: { N: "9" },
      t: { N: "3" },
    });
  });

  it("usage of a period: markers, counters, counted events, pages; attempt commits (low-level client)", () => {
    const acme = { accountId: "acme", period: "2025-07" as const };
    // The marker as markUsage and the flags update it: names and values of its expressions.
    expect(usageMarkerItem.av.key(acme)).toEqual({ pk: { S: "ACCT#acme" }, sk: { S: "USAGE#2025-07" } });
    expect(usageMarkerItem.names("period", "counterShards", "pageShards", "tracksConflicts")).toEqual({
      "#period": "period",
      "#counterShards": "cs",
      "#pageShards": "ps",
      "#tracksConflicts": "cft",
    });
    expect(usageMarkerItem.names("closed", "conflicts", "indexed")).toEqual({
      "#closed": "closed",
      "#conflicts": "cf",
      "#indexed": "ix",
    });
    expect(usageMarkerItem.av.values({ counterShards: [0, 3], conflicts: true })).toEqual({
      ":counterShards": { NS: ["0", "3"] },
      ":conflicts": { BOOL: true },
    });
    // The close's flag goes through the document client.
    expect(usageMarkerItem.key(acme)).toEqual({ pk: "ACCT#acme", sk: "USAGE#2025-07" });
    expect(usageMarkerItem.values({ closed: true })).toEqual({ ":closed": true });
    const marker = { period: { S: "2025-07" }, cs: { NS: ["3", "0"] }, ps: { NS: ["1"] } };
    expect(usageMarkerItem.av.decode({ ...marker, cft: { BOOL: true }, ix: { BOOL: true } })).toEqual({
      period: "2025-07",
      counterShards: [0, 3],
      pageShards: [1],
      closed: false,
      conflicts: false,
      tracksConflicts: true,
      indexed: true,
    });
    // A marker from before shard lists and flags: no shard list, every flag false.
    expect(usageMarkerItem.av.decode({ period: { S: "2025-06" }, closed: { BOOL: true } })).toEqual({
      period: "2025-06",
      closed: true,
      conflicts: false,
      tracksConflicts: false,
      indexed: false,
    });

    const shard = { ...acme, shard: 2 };
    const counter = counterItem.av.item({ ...shard, sk: '["sms.mt"]', quantity: "1.50", events: 3 });
    expect(counter).toEqual({
      pk: { S: "CTR#acme#2025-07#2" },
      sk: { S: '["sms.mt"]' },
      q: { N: "1.50" },
      n: { N: "3" },
    });
    const full = { shardEvents: 7, newest: 8, first: "a", latest: "b", run: 9 };
    expect(counterItem.av.encode(full)).toEqual({
      e: { N: "7" },
      t: { N: "8" },
      s: { S: "a" },
      l: { S: "b" },
      fr: { N: "9" },
    });
    expect(counterItem.av.decode({ ...counter, ...counterItem.av.encode(full) })).toEqual({
      quantity: "1.50",
      events: 3,
      ...full,
    });
    // The fold's increment names them in its expression.
    expect(counterItem.names("quantity", "events", "newest", "first", "latest", "run")).toEqual({
      "#quantity": "q",
      "#events": "n",
      "#newest": "t",
      "#first": "s",
      "#latest": "l",
      "#run": "fr",
    });
    expect(countedEventsItem.av.item({ ...shard, events: 4 })).toEqual({
      pk: { S: "CTR#acme#2025-07#2" },
      sk: { S: "#EVENTS" },
      e: { N: "4" },
    });
    const z = new Uint8Array([1]);
    const page = rawPageItem.av.item({
      ...shard,
      sk: pageSk("1751328000000-f3.4", 0),
      events: 5,
      deflated: z,
    });
    expect(page).toEqual({
      pk: { S: "EVT#acme#2025-07#2" },
      sk: { S: "1751328000000-f3.4#0" },
      c: { N: "5" },
      z: { B: z },
    });
    expect(storedAtOfPage(String(page.sk?.S))).toBe(1751328000000);
    expect(rawPageItem.av.decode(page)).toEqual({ events: 5, deflated: z });

    const commit = attemptCommitItem.av.item({
      attempt: "1-u",
      state: "committed",
      at: 2,
      events: 3,
      expiresAt: 4,
    });
    expect(commit).toEqual({
      pk: { S: "COMMIT#1-u" },
      sk: { S: "COMMIT" },
      s: { S: "committed" },
      at: { N: "2" },
      events: { N: "3" },
      expiresAt: { N: "4" },
    });
    expect(attemptOfCommitPk("COMMIT#1-u")).toBe("1-u");
  });
});

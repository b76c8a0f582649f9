/**
 * Dead letters over sharded partition keys (issue 22 item 3), on DynamoDB Local and the SQS server:
 * the listing is complete and oldest first across the 64 shards, an account's letters merge its
 * index shards in order, a redrive empties every shard, and letters stored under the single
 * partition from before sharding are still listed, merged, redriven — and moved to their shards.
 */
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import {
  burstIndexPks,
  burstMarkerItem,
  DEAD_LETTER_SHARDS,
  LEGACY_LETTER_PK,
  LETTER_INDEX_SHARDS,
  legacyDeadLetterItem,
  letterIndexItem,
  letterIndexPk,
  letterShardPks,
} from "../../shared/adapters/dynamodb/items/dead-letters.js";
import { redriveDeadLetters } from "../../shared/app/dead-letters.js";
import type { DeadLetter } from "../../shared/ports/storage.js";
import { configOf, stdTariffs, usageBody, useLocalSystem } from "../support/scenario.js";

const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }]);
const T0 = Date.UTC(2025, 6, 2, 9);
/** Instants of the second test: none shared with the first (the store remembers bursts by instant). */
const T1 = T0 + 10_000_000;
const sms = (id: string, subject = "acme") =>
  usageBody(
    "sms.mt",
    "2025-07-02T09:00:00Z",
    { to: "1", country: "TR", status: "submitted" },
    { id, subject },
  );
const letter = (id: string, receivedAt: number, subject = "acme"): DeadLetter => ({
  deadLetterId: id,
  messageId: id,
  receivedAt,
  reason: `unknown account "${subject}" (subject)`,
  subject,
  excerpt: sms(id, subject),
  body: sms(id, subject),
  bodyBytes: Buffer.byteLength(sms(id, subject)),
  bodySha256: "",
});
const oldestFirst = (a: DeadLetter, b: DeadLetter) =>
  a.receivedAt - b.receivedAt ||
  (a.deadLetterId < b.deadLetterId ? -1 : a.deadLetterId > b.deadLetterId ? 1 : 0);

describe("dead letters over sharded keys (DynamoDB Local, the SQS server)", () => {
  const scenario = useLocalSystem({ at: "2025-07-03T00:00:00Z", config: configOf(tariffs) });
  const doc = () => DynamoDBDocumentClient.from(scenario.system.dynamodb);
  const isMarker = (i: Record<string, unknown>) => burstMarkerItem.decode(i).burst;
  const partition = async (pk: string) =>
    (
      await doc().send(
        new QueryCommand({
          TableName: scenario.system.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": pk },
          ConsistentRead: true,
        }),
      )
    ).Items ?? [];
  const collect = async <T>(it: AsyncIterable<T>) => {
    const all: T[] = [];
    for await (const x of it) all.push(x);
    return all;
  };

  it("lists every letter of every shard, oldest first (ties by id); an account's letters merge its index shards in order", async () => {
    const store = scenario.system.store;
    // 400 letters, receipts out of id order and 4 letters per instant (ties), two subjects.
    const letters = Array.from({ length: 400 }, (_, i) =>
      letter(
        `m-${String((i * 7919) % 400).padStart(3, "0")}`,
        T0 + Math.floor(i / 4) * 1000,
        i % 5 ? "acme" : "beta",
      ),
    );
    for (let i = 0; i < letters.length; i += 40)
      await Promise.all(letters.slice(i, i + 40).map((l) => store.put(l)));

    const listed = await store.list();
    expect(listed).toEqual([...letters].sort(oldestFirst));
    // Spread: most of the 64 partitions hold some, none holds more than a few percent, none the old key.
    const perShard = await Promise.all(letterShardPks().map(async (pk) => (await partition(pk)).length));
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(400);
    expect(perShard.filter((n) => n > 0).length).toBeGreaterThan(DEAD_LETTER_SHARDS * 0.9);
    expect(Math.max(...perShard)).toBeLessThan(400 / 16);
    expect(await partition(LEGACY_LETTER_PK)).toEqual([]);
    // The index: letters of one account at one instant are a burst: the first on the account's key
    // with a marker, the others spread over its 7 burst keys.
    const perInstant = new Map<number, number>();
    for (const l of letters)
      if (l.subject === "acme") perInstant.set(l.receivedAt, (perInstant.get(l.receivedAt) ?? 0) + 1);
    const own = await partition(letterIndexPk("acme"));
    expect(own.filter((i) => !isMarker(i))).toHaveLength(perInstant.size);
    expect(own.filter(isMarker)).toHaveLength([...perInstant.values()].filter((n) => n > 1).length);
    const perBurstKey = await Promise.all(
      burstIndexPks("acme").map(async (pk) => (await partition(pk)).length),
    );
    expect(perBurstKey).toHaveLength(LETTER_INDEX_SHARDS - 1);
    expect(perBurstKey.reduce((a, b) => a + b, 0)).toBe(320 - perInstant.size);
    expect(Math.min(...perBurstKey)).toBeGreaterThan(0);

    // An account's letters in [from, until): merged from its shards, oldest first, the window kept.
    const from = T0 + 20_000;
    const until = T0 + 70_000;
    const expected = letters
      .filter((l) => l.subject === "acme" && l.receivedAt >= from && l.receivedAt < until)
      .sort(oldestFirst)
      .map((l) => [l.receivedAt, l.deadLetterId]);
    expect(expected.length).toBeGreaterThan(100);
    const got = await collect(store.accountLetters("acme", { from, until }));
    expect(got.map((l) => [l.receivedAt, l.deadLetterId])).toEqual(expected);

    // An account without a burst costs a close one query, as before sharding.
    for (const [i, id] of ["g-1", "g-2", "g-3"].entries())
      await store.put(letter(id, T0 + 500_000 + i, "gamma"));
    let queries = 0;
    const counting =
      (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => {
        if (context.commandName === "QueryCommand") queries += 1;
        return next(args);
      };
    scenario.system.dynamodb.middlewareStack.add(counting as never, {
      step: "initialize",
      name: "countQueries",
    });
    try {
      const gamma = await collect(store.accountLetters("gamma", { from: T0, until: T0 + 600_000 }));
      expect(gamma.map((l) => l.deadLetterId)).toEqual(["g-1", "g-2", "g-3"]);
      expect(queries).toBe(1);
    } finally {
      scenario.system.dynamodb.middlewareStack.remove("countQueries");
    }

    // A redrive of all empties every shard and the index; the queue gets every body once.
    const r = await redriveDeadLetters(store, scenario.system.usageQueue, { blobs: scenario.system.blobs });
    expect(r).toEqual({ redriven: 403, fromQueue: 0, kept: [] });
    expect(await store.list()).toEqual([]);
    expect(await collect(store.accountLetters("acme", { from: 0, until: T0 * 2 }))).toEqual([]);
    const tally = await scenario.system.drain();
    // The bodies are valid SMS of "acme" (stored), "beta" and "gamma" (no such account: dead-lettered again).
    expect(tally).toMatchObject({ stored: 320, "dead-lettered": 83, failed: 0 });
    expect(await store.list()).toHaveLength(83);
    // Every letter and index entry goes with its removal (the burst markers name no letter).
    for (const l of await store.list()) await store.remove(l.deadLetterId);
    for (const pk of [...letterShardPks(), ...burstIndexPks("acme"), ...burstIndexPks("beta")])
      expect(await partition(pk)).toEqual([]);
    for (const subject of ["acme", "beta", "gamma"])
      expect((await partition(letterIndexPk(subject))).filter((i) => !isMarker(i))).toEqual([]);
  }, 300_000);

  it("letters stored before sharding are listed, merged, redriven, and moved to their shards", async () => {
    const store = scenario.system.store;
    const table = scenario.system.tableName;
    // The shape written before sharding: one DEADLETTER partition, the index under DLA#<subject>.
    const putOld = async (l: DeadLetter) => {
      const { excerpt: _excerpt, ...rest } = l;
      await doc().send(new PutCommand({ TableName: table, Item: legacyDeadLetterItem.item(rest) }));
      await doc().send(
        new PutCommand({
          TableName: table,
          Item: letterIndexItem.item({ ...l, indexPk: letterIndexPk(l.subject ?? "") }),
        }),
      );
    };
    const old = [letter("old-1", T1 + 1000), letter("old-2", T1 + 3000), letter("old-3", T1 + 5000)];
    for (const l of old) await putOld(l);
    const fresh = [letter("new-1", T1 + 2000), letter("new-2", T1 + 4000)];
    for (const l of fresh) await store.put(l);
    // old-3 delivered again since: its newer letter (later receipt) replaces the old one.
    const again = letter("old-3", T1 + 6000);
    await store.put(again);

    // A close reads the account's letters before anyone lists: old and new index entries merged.
    const window = { from: T1, until: T1 + 10_000 };
    expect((await collect(store.accountLetters("acme", window))).map((l) => l.deadLetterId)).toEqual([
      "old-1",
      "new-1",
      "old-2",
      "new-2",
      "old-3", // its entry from before sharding (T1 + 5000), until the listing moves it
      "old-3",
    ]);

    const listed = await store.list();
    expect(listed).toEqual([old[0], fresh[0], old[1], fresh[1], again]);
    // Moved: nothing left under the old keys; each letter once, in its shard, with its index entry.
    // (old-3's entry of its first delivery gone with it).
    expect(await partition(LEGACY_LETTER_PK)).toEqual([]);
    const entries = async () =>
      (await partition(letterIndexPk("acme"))).filter(
        (i) => !isMarker(i) && letterIndexItem.decode(i).receivedAt >= T1,
      );
    expect((await entries()).map((i) => i.sk)).toEqual(
      listed.map((l) => letterIndexItem.key({ ...l, indexPk: letterIndexPk("acme") }).sk),
    );
    expect(await store.list()).toEqual(listed);
    expect(
      (await collect(store.accountLetters("acme", window))).map((l) => [l.deadLetterId, l.receivedAt]),
    ).toEqual([
      ["old-1", T1 + 1000],
      ["new-1", T1 + 2000],
      ["old-2", T1 + 3000],
      ["new-2", T1 + 4000],
      ["old-3", T1 + 6000],
    ]);

    // A letter from before sharding removed without a listing first (and its index entry with it).
    await putOld(letter("old-4", T1 + 7000));
    await store.remove("old-4");
    expect(await partition(LEGACY_LETTER_PK)).toEqual([]);
    expect(await entries()).toHaveLength(5);

    // Redriven by id like any other.
    const r = await redriveDeadLetters(store, scenario.system.usageQueue, { ids: ["old-1", "new-2"] });
    expect(r).toEqual({ redriven: 2, fromQueue: 0, kept: [] });
    expect((await store.list()).map((l) => l.deadLetterId)).toEqual(["new-1", "old-2", "old-3"]);
    expect(await scenario.system.drain()).toMatchObject({ stored: 2, "dead-lettered": 0, failed: 0 });
  }, 300_000);
});

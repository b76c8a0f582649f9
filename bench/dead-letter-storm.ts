/**
 * Benchmark (never a test): a storm of invalid usage lines dead-lettered through the real ingest on
 * the embedded local stack (the fauxqs SQS server, the event-source poller, the ingest handler,
 * DynamoDB Local). `npm run bench:dead-letters [-- --lines 100000 --concurrency 4 --bytes 1000]`.
 *
 * The storm is what one misbehaving sender produces: every line names the same account (`acme`,
 * configured) and fails validation (a status the contract does not know), so every letter also
 * gets an entry in that one account's index — the worst case for the index's keys. DynamoDB write
 * units are counted per partition key by an SDK middleware (as bench:ingest does: 1 WRU per started
 * KB, ×2 in a transaction); the heat per key of a 1,000-letters/s storm is the hottest key's share of
 * the writes, scaled to 1,000 letters per second (DynamoDB's per-partition limit is 1,000 WCU/s).
 * Then the listing (every shard) and a check that every line is a letter, once.
 */

import { marshall } from "@aws-sdk/util-dynamodb";
import { createIngestHandler, wrapIngestHandler } from "../functions/ingest-usage/handler.js";
import { startLocalBillingSystem } from "../local/billing-system.js";
import type { SqsEventSourcePollerOptions } from "../local/event-source-poller.js";
import {
  DEAD_LETTER_SHARDS,
  INDEX_PK_PREFIXES,
  LETTER_INDEX_SHARDS,
  LETTER_PK_PREFIX,
} from "../shared/adapters/dynamodb/items/dead-letters.js";
import { parseAccounts } from "../shared/core/config.js";
import { systemClock } from "../shared/ports/clock.js";
import { cachedConfig, storeDeps } from "../shared/runtime/wiring.js";
import { stdTariffs } from "../test/support/events.js";
import { benchOptions } from "./bench-options.js";
import { type Av, itemSize, onEveryAnswer, readUnits, rru, wru } from "./dynamodb-units.js";
import { drainPollers, INGEST_POLLER_ARGS, ingestPollers } from "./ingest-pollers.js";

const args = benchOptions({
  lines: 100_000,
  ...INGEST_POLLER_ARGS,
  /** Bytes of padding per line (the letters' size: the body is kept inline up to 8 KiB). */
  bytes: 1000,
});
const LINES = args.lines;
const CONCURRENCY = args.concurrency;
const BATCH_SIZE = args["batch-size"];
const PAD = args.bytes;

/** The store writes through the document client: its inputs are plain values, marshalled here to size them. */
// biome-ignore lint/suspicious/noExplicitAny: an item as the low-level or the document client gives it
const avItem = (item: any): Record<string, Av> =>
  item && typeof item.pk === "string"
    ? marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true })
    : item;
// biome-ignore lint/suspicious/noExplicitAny: a key as the low-level or the document client gives it
const pkOf = (key: any): string | undefined => (typeof key?.pk === "string" ? key.pk : key?.pk?.S);

class KeyMeter {
  requests = 0;
  wru = 0;
  rru = 0;
  readonly pkWru = new Map<string, number>();
  readonly byCommand = new Map<string, number>();
  private write(pk: string | undefined, units: number) {
    this.wru += units;
    if (pk) this.pkWru.set(pk, (this.pkWru.get(pk) ?? 0) + units);
  }
  // biome-ignore lint/suspicious/noExplicitAny: SDK command inputs and outputs of every shape
  record(command: string, input: any, output: any) {
    this.requests += 1;
    this.byCommand.set(command, (this.byCommand.get(command) ?? 0) + 1);
    switch (command) {
      case "PutItemCommand":
        return this.write(pkOf(input.Item), wru(itemSize(avItem(input.Item))));
      case "DeleteItemCommand":
        return this.write(pkOf(input.Key), 1);
      case "TransactWriteItemsCommand":
        for (const t of input.TransactItems ?? []) {
          if (t.Put) this.write(pkOf(t.Put.Item), 2 * wru(itemSize(avItem(t.Put.Item))));
          else if (t.Delete) this.write(pkOf(t.Delete.Key), 2);
          else if (t.Update) this.write(pkOf(t.Update.Key), 2);
          else if (t.ConditionCheck) this.write(pkOf(t.ConditionCheck.Key), 2);
        }
        return;
      default:
        // Reads are sized from what came back (GetItem: the item; the document client's is plain).
        this.rru +=
          command === "GetCommand" || command === "GetItemCommand"
            ? rru(output?.Item ? itemSize(avItem(output.Item)) : 0, input.ConsistentRead === true)
            : (readUnits(command, input, output) ?? 0);
    }
  }
}

// Receipts on the real clock: each invocation has its own instant, as in production (a burst is an
// account's letters of one invocation).
const clock = systemClock;
const system = await startLocalBillingSystem({ clock, configCacheMs: 60_000 });
let meter: KeyMeter | undefined;
onEveryAnswer(system.dynamodb, "stormMeter", (command, input, output) =>
  meter?.record(command, input, output),
);

const fmt = (x: number, d = 0) => x.toFixed(d);
try {
  const tariffs = stdTariffs([{ product: "sms.mt", unitPrice: "0.05" }]);
  const accounts = parseAccounts(
    [{ accountId: "acme", name: "Acme", currency: "EUR", tariffId: "std" }],
    tariffs,
  );
  await system.loadConfig({ accounts, tariffs });
  const padding = "p".repeat(PAD);
  const bodies = Array.from({ length: LINES }, (_, i) =>
    JSON.stringify({
      specversion: "1.0",
      id: `storm-${i}`,
      source: "/gw/storm",
      type: "sms.mt",
      subject: "acme",
      time: "2025-07-15T11:00:00Z",
      data: { to: "1", country: "TR", status: "no-such-status", padding },
    }),
  );
  const tSend = performance.now();
  const { refused } = await system.send(bodies);
  if (refused.length > 0) throw new Error(`the queue refused ${refused.length} lines`);
  const sendSeconds = (performance.now() - tSend) / 1000;

  const config = cachedConfig(system.store, clock, 60_000);
  type Handler = SqsEventSourcePollerOptions["handler"];
  const handler = wrapIngestHandler(
    createIngestHandler(
      storeDeps(system.store, clock, config, { configCacheMs: 60_000, blobs: system.blobs }),
    ),
  ) as unknown as Handler;
  meter = new KeyMeter();
  const pollers = ingestPollers(system, CONCURRENCY, { handler, batchSize: BATCH_SIZE, region: "us-east-1" });
  const { seconds, processed, failed } = await drainPollers(pollers);
  const m = meter;
  meter = undefined;

  const tList = performance.now();
  const letters = await system.store.list();
  const listSeconds = (performance.now() - tList) / 1000;
  const ids = new Set(letters.map((l) => l.deadLetterId));
  const sorted = letters.every(
    (l, i) =>
      i === 0 ||
      letters[i - 1]!.receivedAt < l.receivedAt ||
      (letters[i - 1]!.receivedAt === l.receivedAt && letters[i - 1]!.deadLetterId < l.deadLetterId),
  );

  const keys = [...m.pkWru].sort((a, b) => b[1] - a[1]);
  const kindOf = (pk: string) =>
    pk.startsWith(LETTER_PK_PREFIX)
      ? "letter"
      : INDEX_PK_PREFIXES.some((p) => pk.startsWith(p))
        ? "index"
        : "other";
  const hottest = (kind: string) => keys.find(([pk]) => kindOf(pk) === kind) ?? ["-", 0];
  const perKind = (kind: string) => keys.filter(([pk]) => kindOf(pk) === kind);
  const [hotLetter, hotLetterWru] = hottest("letter");
  const [hotIndex, hotIndexWru] = hottest("index");
  const atStorm = (w: number) => (w / LINES) * 1000; // WRU/s on that key at 1,000 letters/s
  const line = (k: string, v: string) => console.log(`${k.padEnd(44)} ${v}`);
  line("invalid lines", `${LINES} (${PAD} bytes of padding each, one account, ${BATCH_SIZE} per invocation)`);
  line("sent to the queue", `${fmt(sendSeconds, 1)} s`);
  line(
    "ingested",
    `${processed} messages, ${failed} failed, ${fmt(seconds, 1)} s (${fmt(LINES / seconds)} letters/s on this machine)`,
  );
  line(
    "dead letters listed",
    `${letters.length} (${ids.size} distinct), oldest first: ${sorted}, ${fmt(listSeconds, 1)} s`,
  );
  line(
    "DynamoDB requests",
    `${m.requests}: ${[...m.byCommand].map(([c, n]) => `${c.replace("Command", "")} ${n}`).join(", ")}`,
  );
  line("DynamoDB units", `${m.wru} WRU, ${fmt(m.rru, 1)} RRU (${fmt(m.wru / LINES, 1)} WRU per letter)`);
  line(`letter keys written (of ${DEAD_LETTER_SHARDS})`, `${perKind("letter").length}`);
  line(`account index keys written (of ${LETTER_INDEX_SHARDS})`, `${perKind("index").length}`);
  line(
    "hottest letter key",
    `${hotLetter}: ${hotLetterWru} WRU (${fmt((100 * hotLetterWru) / m.wru, 2)} % of writes)`,
  );
  line(
    "hottest index key",
    `${hotIndex}: ${hotIndexWru} WRU (${fmt((100 * hotIndexWru) / m.wru, 2)} % of writes)`,
  );
  line(
    "other keys",
    `${perKind("other").length}${perKind("other").length ? ` (hottest ${perKind("other")[0]![0]}: ${perKind("other")[0]![1]} WRU)` : ""}`,
  );
  line("at 1,000 letters/s: hottest letter key", `${fmt(atStorm(hotLetterWru))} WRU/s (limit 1,000)`);
  line("at 1,000 letters/s: hottest index key", `${fmt(atStorm(hotIndexWru))} WRU/s (limit 1,000)`);
  line(
    "at 1,000 letters/s: one unsharded key would take",
    `${fmt(atStorm(perKind("letter").reduce((s, [, w]) => s + w, 0)))} WRU/s (letters), ${fmt(atStorm(perKind("index").reduce((s, [, w]) => s + w, 0)))} WRU/s (index)`,
  );
  console.log(
    JSON.stringify({
      lines: LINES,
      padding_bytes: PAD,
      seconds: Number(fmt(seconds, 1)),
      letters: letters.length,
      distinct: ids.size,
      ordered: sorted,
      failed,
      wru: m.wru,
      requests: m.requests,
      letter_keys: perKind("letter").length,
      index_keys: perKind("index").length,
      hottest_letter_key_wru_per_s_at_1000: Number(fmt(atStorm(hotLetterWru))),
      hottest_index_key_wru_per_s_at_1000: Number(fmt(atStorm(hotIndexWru))),
    }),
  );
  if (letters.length !== LINES || ids.size !== LINES || !sorted || failed > 0) process.exitCode = 1;
} finally {
  await system.stop();
}

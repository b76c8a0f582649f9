/**
 * The usage fold on real parts (DynamoDB Local): ingest writes journals and commits only (the
 * deployed mode, `foldInline: false`), the fold applies them. Exactly once when a fold run crashes
 * at any DynamoDB request and is run again; when two folds of one shard run at once; when a close
 * races ingest and folds (every event billed once: in its close, or as a late adjustment); and a
 * journal whose attempt never committed is never folded (docs/data-model.md, "Journal and fold").
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalBillingSystem, startLocalBillingSystem } from "../../local/billing-system.js";
import { DynamoBillingStore, ensureBillingTable } from "../../shared/adapters/dynamodb/billing-table.js";
import { closePeriod } from "../../shared/app/close-period.js";
import { type FoldDeps, foldAll, foldShard } from "../../shared/app/fold-usage.js";
import { directoryOf, type IngestDeps, ingestBatch } from "../../shared/app/ingest-usage.js";
import { counterKey } from "../../shared/core/rating/counters.js";
import { type FoldCadence, foldShardOf } from "../../shared/core/usage-fold.js";
import { VirtualClock } from "../../shared/ports/clock.js";
import { dynamoClient } from "../../shared/runtime/wiring.js";
import { faultyClient } from "../support/faulty-dynamodb.js";
import { configOf } from "../support/scenario.js";
import { type Ev, event, messageTariffs, sms } from "../support/usage-messages.js";

const ACCOUNTS = ["acme", "globex", "initech", "umbrella", "hooli", "stark"];
const config = configOf(messageTariffs, ACCOUNTS);
const CUTOFF = 120_000;

const call = (id: string, subject: string) =>
  event(
    id,
    "voice.call",
    {
      callId: id,
      service: "calls",
      direction: "outbound",
      country: "US",
      answered: true,
      durationSeconds: 61,
    },
    { subject },
  );
/** A key attribute as the document client or the low-level client passes it. */
const text = (v: unknown): string =>
  typeof v === "string" ? v : ((v as { S?: string } | undefined)?.S ?? "");
const message = (messageId: string, body: Ev | Ev[]) => ({ messageId, body: JSON.stringify(body) });

/** Every account, counted and stateful events, a genai charge, and a June event of globex (closed). */
const mixed = (prefix: string) => [
  ...ACCOUNTS.flatMap((a, i) => [
    message(`${prefix}${a}1`, sms(`${prefix}${a}s1`, { subject: a })),
    message(`${prefix}${a}2`, [sms(`${prefix}${a}s2`, { subject: a }), call(`${prefix}${a}c${i}`, a)]),
  ]),
  message(`${prefix}g`, event(`${prefix}g1`, "genai.interaction", { feature: "summary", units: 2.5 })),
  message(`${prefix}j`, sms(`${prefix}june`, { subject: "globex", time: "2025-06-30T12:00:00Z" })),
];

describe("usage fold", () => {
  let system: LocalBillingSystem;
  let tables = 0;
  const clock = new VirtualClock(Date.parse("2025-07-03T00:00:00Z"));
  beforeAll(async () => {
    system = await startLocalBillingSystem({ clock, attemptCutoffMs: CUTOFF });
  });
  afterAll(async () => {
    await system?.stop();
  });
  const healthyClient = () =>
    dynamoClient({ region: "us-east-1", dynamodbEndpoint: system.endpoints.dynamodb });
  const freshTable = async () => {
    const table = `fold-${++tables}`;
    await ensureBillingTable(system.dynamodb, table);
    return table;
  };
  /** The deployed mode: ingest writes journals and commits, nothing else. */
  const storeOn = (client: DynamoDBClient, table: string) =>
    new DynamoBillingStore(client, table, { attemptCutoffMs: CUTOFF, foldInline: false });
  const ingestDeps = (store: DynamoBillingStore): IngestDeps => ({
    usage: store.usage,
    periods: store,
    deadLetters: store,
    clock,
    accounts: directoryOf(config),
  });
  const foldDeps = (store: DynamoBillingStore): FoldDeps => ({
    journal: store.usage.journal,
    periods: store,
    clock,
    accounts: directoryOf(config),
  });
  const ingest = async (store: DynamoBillingStore, messages: { messageId: string; body: string }[]) => {
    const r = await ingestBatch(messages, ingestDeps(store));
    expect(r.failures).toEqual([]);
    return r;
  };
  /** A closed June for globex: the fold marks it late when a June event is folded. */
  const closeJune = async (store: DynamoBillingStore) => {
    const claim = await store.claimClose(
      "globex",
      "2025-06",
      { owner: "june", startedAt: 1, leaseUntil: 2 },
      1,
    );
    expect(claim.kind).toBe("claimed");
  };

  async function snapshot(store: DynamoBillingStore) {
    const out: Record<string, unknown> = {};
    for (const a of ACCOUNTS) {
      const c = await store.usage.countersOf(a, "2025-07");
      out[`${a} counters`] = [
        c.events,
        c.counters.map((d) => `${counterKey(d)}=${d.quantity.toFixed()}/${d.events}`).sort(),
      ];
      out[`${a} events`] = (await store.usage.statefulEventsOf(a, ["2025-07"])).map((e) => e.id).sort();
      out[`${a} periods`] = await store.usage.usagePeriods(a);
      out[`${a} late`] = (await store.latePeriods(a)).map((l) => `${l.period} ${l.later === true}`);
    }
    out["globex june"] = (await store.usage.countersOf("globex", "2025-06")).events;
    out.unclosed = (await store.unclosed.unclosedUsage("2025-07")).map((u) => u.accountId).sort();
    return out;
  }

  it("a fold run that fails at any DynamoDB request (transient or crash), then run again: totals exact", async () => {
    const cleanTable = await freshTable();
    const clean = storeOn(healthyClient(), cleanTable);
    await closeJune(clean);
    // The fold runs from the start (every minute): its state exists before this batch.
    await foldAll(foldDeps(clean));
    await ingest(clean, mixed("a"));
    // Before any fold, ingest wrote no counter, page or marker.
    expect((await clean.usage.countersOf("acme", "2025-07")).events).toBe(0);
    expect(await clean.usage.usagePeriods("acme")).toEqual([]);
    const counting = faultyClient(system.endpoints.dynamodb, { mode: "once" });
    const counted = storeOn(counting.client, cleanTable);
    await foldAll(foldDeps(counted), 1);
    const requests = counting.calls.length;
    const expected = await snapshot(clean);
    expect(expected["acme counters"]).toEqual([
      3,
      [
        `${counterKey({ kind: "charge", product: "genai.interaction", dimensions: { feature: "summary" }, version: "2025-01-01T00:00:00Z", reason: "" })}=2.5/1`,
        `${counterKey({ kind: "charge", product: "sms.mt", dimensions: { country: "TR" }, version: "2025-01-01T00:00:00Z", reason: "" })}=2/2`,
      ].sort(),
    ]);
    expect(expected["globex june"]).toBe(1);
    expect(expected["globex late"]).toEqual(["2025-06 false"]);
    expect(expected.unclosed).toEqual([...ACCOUNTS].sort());
    // Folding again changes nothing.
    await foldAll(foldDeps(clean));
    expect(await snapshot(clean)).toEqual(expected);
    expect(requests).toBeGreaterThan(20);

    for (const mode of ["once", "crash"] as const)
      for (let n = 1; n <= requests; n++) {
        const table = await freshTable();
        const store = storeOn(healthyClient(), table);
        await closeJune(store);
        await foldAll(foldDeps(store));
        await ingest(store, mixed("a"));
        const faulty = faultyClient(system.endpoints.dynamodb, { mode, failAt: n });
        await expect(foldAll(foldDeps(storeOn(faulty.client, table)), 1)).rejects.toThrow(/injected failure/);
        expect(faulty.fired(), `${mode} at request ${n}`).toBe(true);
        // The next fold (another container, the next minute) finds the run and redoes it.
        await foldAll(foldDeps(storeOn(healthyClient(), table)));
        expect(await snapshot(store), `${mode} at request ${n} (${faulty.calls[n - 1]})`).toEqual(expected);
      }
  }, 900_000);

  it("two folds of one shard at once: one starts the run, the other redoes it, every counter adds once", async () => {
    const table = await freshTable();
    const store = storeOn(healthyClient(), table);
    await closeJune(store);
    await ingest(store, mixed("b"));
    const shard = foldShardOf("acme");
    // Fold A stops at its first counter write (after its run started and it read the counters)
    // until fold B has redone the whole run and fold C applied the next one; then A goes on with
    // writes computed from what it read before both.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let reached!: () => void;
    const atCounter = new Promise<void>((r) => {
      reached = r;
    });
    const a = healthyClient();
    a.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: { pk?: unknown }; Item?: { pk?: unknown } };
        if (text(input.Key?.pk ?? input.Item?.pk).startsWith("CTR#")) {
          reached();
          await held;
        }
        return next(args);
      },
      { step: "initialize", name: "holdFoldA" },
    );
    const foldA = foldShard(shard, foldDeps(storeOn(a, table)));
    await atCounter;
    const b = await foldShard(shard, foldDeps(storeOn(healthyClient(), table)));
    expect(b.redone).toBe(1);
    // And the next run lands too (a new batch) while A still holds the counters it read before both.
    await ingest(store, mixed("b2"));
    const c = await foldShard(shard, foldDeps(storeOn(healthyClient(), table)));
    expect(c.runs).toBe(1);
    release();
    const ra = await foldA;
    expect(ra.runs).toBe(1);
    await foldAll(foldDeps(store));

    const reference = storeOn(healthyClient(), await freshTable());
    await closeJune(reference);
    await ingest(reference, mixed("b"));
    await ingest(reference, mixed("b2"));
    await foldAll(foldDeps(reference));
    expect(await snapshot(store)).toEqual(await snapshot(reference));
    expect((await store.usage.countersOf("acme", "2025-07")).events).toBe(6);

    // Three folds of every shard at once, over three more batches: still exact.
    for (const p of ["c", "d", "e"]) {
      await ingest(store, mixed(p));
      await ingest(reference, mixed(p));
      await Promise.all([1, 2, 3].map(() => foldAll(foldDeps(storeOn(healthyClient(), table)))));
      await foldAll(foldDeps(reference));
    }
    expect(await snapshot(store)).toEqual(await snapshot(reference));
    expect((await store.usage.countersOf("acme", "2025-07")).events).toBe(15);
  }, 300_000);

  it("a journal whose attempt never committed is never folded; after the cut-off the fold aborts it, and the re-delivery counts once", async () => {
    const table = await freshTable();
    const store = storeOn(healthyClient(), table);
    // Ingest dies at its commit: journals written, no commit record.
    const dying = healthyClient();
    dying.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Item?: { pk?: { S?: string } } };
        if (input.Item?.pk?.S?.startsWith("COMMIT#")) throw new Error("injected crash before the commit");
        return next(args);
      },
      { step: "initialize", name: "dieAtCommit" },
    );
    const batch = [message("x1", sms("t1")), message("x2", [sms("t2"), call("t3", "acme")])];
    const r = await ingestBatch(batch, ingestDeps(storeOn(dying, table)));
    expect(r.retry.sort()).toEqual(["x1", "x2"]);
    const { journals } = await store.usage.journal.listJournals(
      foldShardOf("acme"),
      clock.now() - CUTOFF,
      clock.now() + CUTOFF,
    );
    expect(journals).toHaveLength(1);
    const dead = journals[0]!.attempt;

    // Young: maybe still running; not folded, not aborted.
    await foldAll(foldDeps(store));
    expect((await store.usage.countersOf("acme", "2025-07")).events).toBe(0);
    expect((await store.usage.journal.commitStates([dead])).get(dead)).toBe("none");
    // Past the cut-off: aborted by the fold (the take-over's put), still not folded.
    clock.advanceTo(clock.now() + CUTOFF + 1);
    await foldAll(foldDeps(store));
    expect((await store.usage.journal.commitStates([dead])).get(dead)).toBe("aborted");
    expect((await store.usage.countersOf("acme", "2025-07")).events).toBe(0);
    expect(await store.usage.statefulEventsOf("acme", ["2025-07"])).toEqual([]);
    // The dead invocation's commit, had it come now, fails: the fold can never have skipped it.
    expect(await store.usage.journal.abortAttempt(dead, clock.now())).toBe("aborted");

    // The re-delivery takes the claims over and commits; the fold counts each event once.
    const again = await ingest(store, batch);
    expect(again.retry).toEqual([]);
    await foldAll(foldDeps(store));
    await foldAll(foldDeps(store));
    expect((await store.usage.countersOf("acme", "2025-07")).events).toBe(2);
    expect((await store.usage.statefulEventsOf("acme", ["2025-07"])).map((e) => e.id)).toEqual(["t3"]);
  }, 120_000);

  it("a close racing ingest and folds: every event billed once, in its close or as a late adjustment of the next", async () => {
    const table = await freshTable();
    const store = storeOn(healthyClient(), table);
    const one = (id: string) => message(id, sms(id, { time: "2025-07-30T12:00:00Z" }));
    clock.advanceTo(Date.parse("2025-07-30T13:00:00Z"));
    await ingest(store, [one("r1"), one("r2")]);
    // globex's journal is folded by nobody but its close: the close folds before it reads.
    await ingest(store, [message("gx1", sms("gx1", { subject: "globex", time: "2025-07-30T12:00:00Z" }))]);
    clock.advanceTo(Date.parse("2025-08-01T03:00:00Z"));
    // The close stops twice: right after its claim (events committed and folded then are seen by
    // its own fold or read by it) and after it read the counters (events folded then are late).
    let stage = 0;
    const gates: (() => Promise<void>)[] = [
      async () => {
        await ingest(store, [one("r3")]);
        await foldAll(foldDeps(store));
      },
      async () => {
        await ingest(store, [one("r4"), one("r5")]);
        await foldAll(foldDeps(store));
      },
    ];
    const closing = healthyClient();
    closing.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        const input = args.input as {
          Item?: { sk?: unknown };
          ExpressionAttributeValues?: Record<string, unknown>;
        };
        const afterClaim =
          context.commandName === "PutItemCommand" && text(input.Item?.sk) === "CLOSE#2025-07";
        const afterCounters =
          context.commandName === "QueryCommand" &&
          text(input.ExpressionAttributeValues?.[":pk"]).startsWith("CTR#acme#2025-07");
        if ((afterClaim && stage === 0) || (afterCounters && stage === 1)) await gates[stage++]!();
        return out;
      },
      { step: "initialize", name: "raceTheClose" },
    );
    const closeDeps = (s: DynamoBillingStore) => ({
      ...ingestDeps(s),
      config: async () => config,
    });
    const [globex] = await closePeriod("2025-07", closeDeps(store), { accountIds: ["globex"] });
    expect((globex as { events: number; totals: { amount: string } }).events).toBe(1);
    expect((globex as { totals: { amount: string } }).totals.amount).toBe("0.01");
    const [july] = await closePeriod("2025-07", closeDeps(storeOn(closing, table)), { accountIds: ["acme"] });
    expect(stage).toBe(2);
    expect(july?.status).toBe("closed");
    const julyAmount = (july as { totals: { amount: string } }).totals.amount;
    // r1–r3 in July's close (r3 folded under the claim: also marked late, its adjustment nets 0);
    // r4 and r5 folded after the close read its counters: late, billed by August's close.
    expect(julyAmount).toBe("0.04");
    expect((await store.latePeriods("acme")).map((l) => l.period)).toEqual(["2025-07"]);
    clock.advanceTo(Date.parse("2025-09-01T03:00:00Z"));
    const [august] = await closePeriod("2025-08", closeDeps(store), { accountIds: ["acme"] });
    const adjustments = (august as { adjustments: { referencePeriod: string; amount: string }[] })
      .adjustments;
    expect(adjustments).toEqual([{ referencePeriod: "2025-07", amount: "0.02", lines: expect.any(Number) }]);
    // Five events at 0.012 = 0.06: July's 0.04 (three events, rounded once per line) plus 0.02.
    const lines = await store.linesForReference("acme", "2025-07");
    const total = lines.reduce((s, l) => s + Number(l.amount), 0);
    expect(total.toFixed(2)).toBe("0.06");
  }, 180_000);
  describe("the scheduled fold's cadence and a run's bounds", () => {
    const MIN = 60_000;
    const sept = (id: string, subject = "acme") =>
      message(id, sms(id, { subject, time: "2025-09-01T00:30:00Z" }));
    const septEvents = async (store: DynamoBillingStore, account = "acme") =>
      (await store.usage.countersOf(account, "2025-09")).events;

    it("skips a young small shard; folds it once its last run is the lag old, or once its journals hold the volume", async () => {
      clock.advanceTo(Date.parse("2025-09-02T00:00:00Z"));
      const store = storeOn(healthyClient(), await freshTable());
      const shard = foldShardOf("acme");
      const cadence: FoldCadence = { maxLagMs: 5 * MIN, volumeEvents: 6, probeParts: 100 };
      const tick = () => foldShard(shard, foldDeps(store), { cadence });
      // The first tick folds (no state yet): the last run's instant is now.
      expect((await tick()).skipped).toBe(false);
      await ingest(store, [sept("c1"), sept("c2")]);
      for (const minutes of [1, 2, 3, 4]) {
        clock.advanceTo(clock.now() + MIN);
        const r = await tick();
        expect(r.skipped, `${minutes} min after the last run`).toBe(true);
        expect(await septEvents(store)).toBe(0);
      }
      // Five minutes after the last run: folded (lag).
      clock.advanceTo(clock.now() + MIN);
      const lag = await tick();
      expect([lag.skipped, lag.runs]).toEqual([false, 1]);
      expect(await septEvents(store)).toBe(2);

      // Volume: 3 events wait (< 6): skipped; 4 more (7 ≥ 6) one minute later: folded, lag or not.
      await ingest(store, [
        sept("c3"),
        message("c45", [
          sms("c4", { time: "2025-09-01T00:30:00Z" }),
          sms("c5", { time: "2025-09-01T00:30:00Z" }),
        ]),
      ]);
      clock.advanceTo(clock.now() + MIN);
      expect((await tick()).skipped).toBe(true);
      await ingest(store, [sept("c6"), sept("c7"), sept("c8"), sept("c9")]);
      clock.advanceTo(clock.now() + MIN);
      const volume = await tick();
      expect([volume.skipped, volume.runs]).toEqual([false, 1]);
      expect(await septEvents(store)).toBe(9);
      // The probe's parts bound folds as well: many small journals, few events.
      const byParts = () =>
        foldShard(shard, foldDeps(store), { cadence: { ...cadence, volumeEvents: 1_000, probeParts: 3 } });
      await ingest(store, [sept("d1")]);
      await ingest(store, [sept("d2")]);
      clock.advanceTo(clock.now() + MIN);
      expect((await byParts()).skipped).toBe(true);
      await ingest(store, [sept("d3")]);
      clock.advanceTo(clock.now() + MIN);
      expect((await byParts()).skipped).toBe(false);
      expect(await septEvents(store)).toBe(12);
      // A tick without a cadence (the close's, the reporter's) always folds.
      await ingest(store, [sept("e1")]);
      expect((await foldShard(shard, foldDeps(store))).runs).toBe(1);
      expect(await septEvents(store)).toBe(13);
    }, 120_000);

    it("a run at its bounds (journal parts, attempts) leaves the rest for the next run: nothing lost, nothing counted twice", async () => {
      for (const limits of [{ runParts: 2 }, { runAttempts: 2 }]) {
        clock.advanceTo(clock.now() + 24 * 3_600_000);
        const store = storeOn(healthyClient(), await freshTable());
        const shard = foldShardOf("acme");
        await foldShard(shard, foldDeps(store));
        // Five attempts of acme's shard, a second apart (attempts of one instant are listed together).
        for (const n of [1, 2, 3, 4, 5]) {
          await ingest(store, [sept(`p${n}a`), sept(`p${n}b`)]);
          clock.advanceTo(clock.now() + 1_000);
        }
        // Settled: past the cut-off, so only the bound stops a run from passing them all.
        clock.advanceTo(clock.now() + CUTOFF + 1);
        const bounded = { ...foldDeps(store), limits };
        const first = await foldShard(shard, bounded, { maxRuns: 1 });
        expect([first.runs, first.attempts, first.more], JSON.stringify(limits)).toEqual([1, 2, true]);
        expect(await septEvents(store)).toBe(4);
        const second = await foldShard(shard, bounded, { maxRuns: 1 });
        expect([second.attempts, second.more]).toEqual([2, true]);
        expect(await septEvents(store)).toBe(8);
        // Without a bound on runs, a call goes on until nothing is left (what a close relies on).
        const rest = await foldShard(shard, bounded);
        expect([rest.attempts, rest.more]).toEqual([1, false]);
        expect(await septEvents(store)).toBe(10);
        await foldAll(foldDeps(store));
        expect(await septEvents(store)).toBe(10);
      }
    }, 120_000);

    it("attempts folded early (inside the cut-off) are never folded again by the runs that list their days again", async () => {
      clock.advanceTo(clock.now() + 24 * 3_600_000);
      const store = storeOn(healthyClient(), await freshTable());
      const shard = foldShardOf("acme");
      await foldShard(shard, foldDeps(store));
      const time = new Date(clock.now() - MIN).toISOString();
      const events = async () => (await store.usage.countersOf("acme", time.slice(0, 7))).events;
      // Each fold comes right after its attempt committed: inside the cut-off, so the run's settled
      // bound stays before it and the attempt is recorded as folded early; the next runs list from
      // that bound again and must leave it out.
      for (const [n, id] of ["q1", "q2", "q3"].entries()) {
        await ingest(store, [message(id, sms(id, { subject: "acme", time }))]);
        clock.advanceTo(clock.now() + 1_000);
        expect((await foldShard(shard, foldDeps(store))).attempts).toBe(1);
        expect(await events()).toBe(n + 1);
      }
      expect((await store.usage.journal.readState(shard))?.extra).toHaveLength(3);
      // Past the cut-off the bound settles beyond them: nothing is left to fold, nothing refolded.
      clock.advanceTo(clock.now() + CUTOFF + 1);
      await foldShard(shard, foldDeps(store));
      expect(await events()).toBe(3);
    }, 120_000);

    it("a run that brings an (account, period) only stateful events, its marks recorded, leaves its bundle unwritten", async () => {
      const store = storeOn(healthyClient(), await freshTable());
      await ingest(store, mixed("s"));
      await foldAll(foldDeps(store));
      const before = await store.usage.countersOf("acme", "2025-07");
      await ingest(store, [message("s-call", call("s-call2", "acme"))]);
      const counting = healthyClient();
      const bundlePuts: string[] = [];
      counting.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Item?: { pk?: unknown } };
          if (context.commandName === "PutItemCommand" && text(input.Item?.pk).startsWith("CTR#"))
            bundlePuts.push(text(input.Item?.pk));
          return next(args);
        },
        { step: "initialize", name: "countBundlePuts" },
      );
      await foldAll(foldDeps(storeOn(counting, store.table)));
      expect(bundlePuts).toEqual([]);
      expect(await store.usage.countersOf("acme", "2025-07")).toEqual(before);
      expect((await store.usage.statefulEventsOf("acme", ["2025-07"])).map((e) => e.id).sort()).toEqual(
        ["s-call2", "sacmec0"].sort(),
      );
      // The next run with counted events rewrites it from the run it still carries.
      await ingest(store, [message("s-sms", sms("s-sms1"))]);
      await foldAll(foldDeps(store));
      expect((await store.usage.countersOf("acme", "2025-07")).events).toBe(before.events + 1);
    }, 120_000);

    it("a close bills everything committed even when the scheduled fold skipped the shard", async () => {
      clock.advanceTo(Date.parse("2025-09-20T00:00:00Z"));
      const store = storeOn(healthyClient(), await freshTable());
      const cadence: FoldCadence = { maxLagMs: 5 * MIN, volumeEvents: 100_000, probeParts: 500 };
      await foldAll(foldDeps(store), 4, { cadence });
      await ingest(store, [sept("z1"), sept("z2"), sept("z3")]);
      clock.advanceTo(clock.now() + MIN);
      const ticks = await foldAll(foldDeps(store), 4, { cadence });
      expect(ticks.every((t) => t.skipped)).toBe(true);
      expect(await septEvents(store)).toBe(0);
      clock.advanceTo(Date.parse("2025-10-01T03:00:00Z"));
      const [sep] = await closePeriod(
        "2025-09",
        { ...ingestDeps(store), config: async () => config },
        { accountIds: ["acme"] },
      );
      expect(sep?.status).toBe("closed");
      expect((sep as { events: number }).events).toBe(3);
      expect((sep as { totals: { amount: string } }).totals.amount).toBe("0.04");
    }, 120_000);
  });
});

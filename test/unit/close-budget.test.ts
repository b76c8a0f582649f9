/**
 * The close worker's memory budget as a pure scheduler (shared/app/close-budget.ts): who waits,
 * who goes alone, and that it never deadlocks. The close-batch test on DynamoDB Local is
 * test/integration/close-memory-budget.test.ts.
 */
import { describe, expect, it } from "vitest";
import { CloseMemoryBudget } from "../../shared/app/close-budget.js";

const raw = (events: number) => ({ events, deflatedBytes: 0 });
/** Whether the promise has settled after the pending callbacks ran. */
const settled = async (p: Promise<void>) => {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await new Promise((r) => setImmediate(r));
  return done;
};

describe("close memory budget", () => {
  it("a second close's events wait until the first close releases its own", async () => {
    const budget = new CloseMemoryBudget(100, 1, 0);
    const a = budget.lease();
    const b = budget.lease();
    await Promise.all([a.start(), b.start()]);
    expect(await settled(a.reserveRaw(raw(60)))).toBe(true);
    const bWaits = b.reserveRaw(raw(60));
    expect(await settled(bWaits)).toBe(false);
    a.release();
    expect(await settled(bWaits)).toBe(true);
    expect(budget.snapshot()).toMatchObject({ peakHoldingRaw: 1, waits: 1, overBudget: 0, peakReserved: 60 });
  });

  it("a close bigger than the whole budget runs alone, once the others have finished", async () => {
    const budget = new CloseMemoryBudget(100, 1, 10);
    const small = budget.lease();
    const big = budget.lease();
    await Promise.all([small.start(), big.start()]);
    const bigWaits = big.reserveRaw(raw(150));
    expect(await settled(bigWaits)).toBe(false);
    small.release();
    expect(await settled(bigWaits)).toBe(true);
    // A close arriving meanwhile waits for the big one to finish.
    const late = budget.lease();
    const lateStarts = late.start();
    expect(await settled(lateStarts)).toBe(false);
    big.release();
    expect(await settled(lateStarts)).toBe(true);
    expect(budget.snapshot().overBudget).toBe(1);
  });

  it("when every close holding memory waits for more, the oldest goes over the budget instead of a deadlock", async () => {
    const budget = new CloseMemoryBudget(100, 1, 0);
    const a = budget.lease();
    const b = budget.lease();
    await Promise.all([a.start(), b.start()]);
    await a.reserveRaw(raw(60));
    await b.reserveRaw(raw(30));
    const aMore = a.reserveRaw(raw(20));
    const bMore = b.reserveRaw(raw(20));
    expect(await settled(aMore)).toBe(true);
    expect(await settled(bMore)).toBe(false);
    a.release();
    expect(await settled(bMore)).toBe(true);
    expect(budget.snapshot().overBudget).toBe(1);
  });

  it("the budget of a function: its memory less the worker's own footprint", () => {
    expect(CloseMemoryBudget.forFunctionMemory(1024).capacityBytes).toBe(768 * 2 ** 20);
    expect(() => new CloseMemoryBudget(0)).toThrow(RangeError);
  });
});

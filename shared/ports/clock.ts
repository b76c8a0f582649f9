/** The clock port: injected everywhere so that the simulation runs on a virtual clock (contract §5). */
export interface Clock {
  now(): number;
}

/** A clock the caller moves (the simulation's virtual clock). */
export interface AdvancingClock extends Clock {
  advanceTo(t: number): void;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; it never goes backwards. */
export class VirtualClock implements AdvancingClock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  /** Moves forward to t (no-op if t is in the past). */
  advanceTo(t: number): void {
    if (t > this.current) this.current = t;
  }
}

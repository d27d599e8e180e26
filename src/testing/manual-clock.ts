import type { Clock } from "../ports/clock.js";

export interface ManualClock extends Clock {
  /** A new `Date` each call, so callers cannot move the clock by mutating it. */
  now(): Date;
  /** Moves time forward (or back, with a negative `ms`) and returns the new time. */
  advance(ms: number): Date;
  /** Jumps to `at` and returns it. */
  set(at: Date | string | number): Date;
}

function toMillis(at: Date | string | number): number {
  const ms = at instanceof Date ? at.getTime() : new Date(at).getTime();
  if (Number.isNaN(ms)) throw new RangeError(`createManualClock: not a date: ${String(at)}`);
  return ms;
}

/** A clock that moves only when told to: time in tests is an input, never a race. */
export function createManualClock(start: Date | string | number): ManualClock {
  let current = toMillis(start);
  return {
    now: () => new Date(current),
    advance(ms: number): Date {
      if (!Number.isFinite(ms)) throw new RangeError(`createManualClock: cannot advance by ${ms}`);
      current += ms;
      return new Date(current);
    },
    set(at: Date | string | number): Date {
      current = toMillis(at);
      return new Date(current);
    },
  };
}

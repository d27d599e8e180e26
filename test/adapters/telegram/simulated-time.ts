import { setImmediate as nextTurn } from "node:timers/promises";
import type { Sleep } from "../../../src/adapters/telegram/index.js";
import type { Clock } from "../../../src/ports/clock.js";

interface Timer {
  readonly at: number;
  readonly order: number;
  readonly fire: () => void;
  cancelled: boolean;
}

export interface SimulatedTime {
  /** Reads simulated time. */
  readonly clock: Clock;
  /** Waits in simulated time; returns early when `signal` aborts. */
  readonly sleep: Sleep;
  now(): number;
  /**
   * Runs `work` to its end: whenever nothing can happen without time passing (every promise
   * settled, every callback run), time jumps to the next timer. Rejects if nothing waits on a
   * timer and `work` is still not done (a call that would hang for ever).
   */
  run<T>(work: Promise<T>): Promise<T>;
}

/**
 * Simulated time for concurrent code: unlike a manual clock advanced by each wait, many calls can
 * wait at once (a sender's many callers, the look-alike's round trips) and each wakes at its
 * simulated time, in order. Code under test must read time from `clock` and wait with `sleep`.
 */
export function simulatedTime(start: number): SimulatedTime {
  let now = start;
  let order = 0;
  const timers: Timer[] = [];

  const earlier = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.order < b.order);
  const push = (timer: Timer) => {
    timers.push(timer);
    let i = timers.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const [child, above] = [timers[i] as Timer, timers[parent] as Timer];
      if (!earlier(child, above)) break;
      [timers[i], timers[parent]] = [above, child];
      i = parent;
    }
  };
  const pop = (): Timer | undefined => {
    const first = timers[0];
    const last = timers.pop();
    if (first === undefined || last === undefined || timers.length === 0) return first;
    timers[0] = last;
    let i = 0;
    for (;;) {
      const [left, right] = [2 * i + 1, 2 * i + 2];
      let smallest = i;
      if (left < timers.length && earlier(timers[left] as Timer, timers[smallest] as Timer)) smallest = left;
      if (right < timers.length && earlier(timers[right] as Timer, timers[smallest] as Timer))
        smallest = right;
      if (smallest === i) return first;
      [timers[i], timers[smallest]] = [timers[smallest] as Timer, timers[i] as Timer];
      i = smallest;
    }
  };

  const sleep: Sleep = (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const onAbort = () => {
        timer.cancelled = true;
        resolve();
      };
      const timer: Timer = {
        at: now + Math.max(0, ms),
        order: order++,
        cancelled: false,
        fire: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      push(timer);
    });

  /** Lets every pending callback and promise run: what is left needs time to pass. */
  const settle = async () => {
    await nextTurn();
    await nextTurn();
  };

  return {
    clock: { now: () => new Date(now) },
    sleep,
    now: () => now,
    async run(work) {
      let done = false;
      const watched = work.finally(() => {
        done = true;
      });
      watched.catch(() => {});
      for (;;) {
        await settle();
        if (done) return work;
        const timer = pop();
        if (timer === undefined) throw new Error("simulated time: the work waits, but on no timer");
        if (timer.cancelled) continue;
        now = Math.max(now, timer.at);
        timer.fire();
      }
    },
  };
}

export { seededRandom } from "../../support/seeded-random.js";

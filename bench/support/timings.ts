/**
 * Client-side time per statement (PostgreSQL) or per store call (SQLite), printed beside the
 * figures with `BENCH_TIMINGS=1` so that the next bottleneck is visible.
 */
import type pg from "pg";
import type { BroadcastStore } from "../../src/index.js";

export const timingsWanted = process.env.BENCH_TIMINGS === "1";

export class Timings {
  private readonly spans = new Map<string, { calls: number; ms: number }>();

  add(label: string, ms: number): void {
    const span = this.spans.get(label) ?? { calls: 0, ms: 0 };
    span.calls += 1;
    span.ms += ms;
    this.spans.set(label, span);
  }

  /** Calls and total milliseconds of one label so far. */
  get(label: string): { calls: number; ms: number } {
    return this.spans.get(label) ?? { calls: 0, ms: 0 };
  }

  reset(): void {
    this.spans.clear();
  }

  print(title: string): void {
    if (this.spans.size === 0) return;
    console.log(`\n${title}\n`);
    console.log("| statement | calls | total ms | ms per call |");
    console.log("| --- | ---: | ---: | ---: |");
    const rows = [...this.spans].sort((a, b) => b[1].ms - a[1].ms);
    for (const [label, { calls, ms }] of rows) {
      console.log(`| ${label} | ${calls} | ${ms.toFixed(0)} | ${(ms / calls).toFixed(2)} |`);
    }
  }
}

/** A statement's label: its prepared name without the store's prefix, or its first words. */
function labelOf(config: unknown): string {
  if (typeof config === "string") return config.trim().split(/\s+/).slice(0, 3).join(" ");
  if (config !== null && typeof config === "object") {
    const { name, text } = config as { name?: string; text?: string };
    if (name !== undefined) return name.replace(/^bk_[a-z0-9]+_/, "");
    if (text !== undefined) return labelOf(text);
  }
  return "?";
}

/** Times every query of every client the pool connects (the store's own and `pool.query`'s). */
export function timePool(pool: pg.Pool, timings: Timings): void {
  pool.on("connect", (client) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const result = original(...args);
      if (result instanceof Promise) {
        const start = performance.now();
        const label = labelOf(args[0]);
        return result.finally(() => timings.add(label, performance.now() - start));
      }
      return result;
    };
  });
}

/** A store whose calls are timed (SQLite runs each call synchronously, so a call is its statements). */
export function timeStore(store: BroadcastStore, timings: Timings): BroadcastStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const start = performance.now();
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) {
          return result.finally(() => timings.add(String(property), performance.now() - start));
        }
        timings.add(String(property), performance.now() - start);
        return result;
      };
    },
  });
}

import { createMemoryQueue } from "broadcastkit/memory";
import { createManualClock } from "broadcastkit/testing";
import { err, ok } from "neverthrow";
import { describe, expect, it } from "vitest";
import type { SendJob } from "../../../src/core/types.js";

const job = (broadcastId: number): SendJob => ({ broadcastId, onlyFailed: false });
const start = "2030-01-01T00:00:00Z";

describe("createMemoryQueue", () => {
  it("runs due jobs on drain, and the due jobs those enqueue", async () => {
    const queue = createMemoryQueue({ clock: createManualClock(start) });
    const ran: number[] = [];
    queue.consume(async (j) => {
      ran.push(j.broadcastId);
      if (j.broadcastId < 3) await queue.enqueue(job(j.broadcastId + 1));
    });
    await queue.enqueue(job(1));
    await queue.drain();
    expect(ran).toEqual([1, 2, 3]);
    expect(queue.pending()).toEqual([]);
  });

  it("keeps a delayed job until the clock reaches its due time", async () => {
    const clock = createManualClock(start);
    const queue = createMemoryQueue({ clock });
    const ran: number[] = [];
    queue.consume(async (j) => void ran.push(j.broadcastId));
    await queue.enqueue(job(1), { delayMs: 60_000 });
    await queue.drain();
    expect(ran).toEqual([]);
    expect(queue.pending()[0]?.dueAt.toISOString()).toBe("2030-01-01T00:01:00.000Z");
    clock.advance(60_000);
    await queue.drain();
    expect(ran).toEqual([1]);
  });

  it("adds nothing for a dedupe key whose job is still waiting", async () => {
    const queue = createMemoryQueue({ clock: createManualClock(start) });
    const first = await queue.enqueue(job(1), { dedupeKey: "b1" });
    const second = await queue.enqueue(job(1), { dedupeKey: "b1" });
    expect(second.jobId).toBe(first.jobId);
    expect(queue.pending()).toHaveLength(1);
  });

  it("re-runs a failing job after 60 s, 120 s and 240 s, then keeps it as a dead letter", async () => {
    const clock = createManualClock(start);
    const queue = createMemoryQueue({ clock });
    let runs = 0;
    queue.consume(async () => {
      runs += 1;
      return runs % 2 === 0 ? err("storage") : Promise.reject(new Error("down"));
    });
    await queue.enqueue(job(1));
    await queue.drain();
    for (const delay of [60_000, 120_000, 240_000]) {
      expect(queue.pending()[0]?.dueAt.getTime()).toBe(clock.now().getTime() + delay);
      clock.advance(delay);
      await queue.drain();
    }
    expect(runs).toBe(4);
    expect(queue.pending()).toEqual([]);
    expect(queue.deadLetters).toMatchObject([{ job: job(1), failedRuns: 4 }]);
  });

  it("counts an Ok result as a successful run", async () => {
    const queue = createMemoryQueue({ clock: createManualClock(start) });
    queue.consume(async () => ok(undefined));
    await queue.enqueue(job(1));
    await queue.drain();
    expect(queue.pending()).toEqual([]);
    expect(queue.deadLetters).toEqual([]);
  });

  it("uses the injected id generator", async () => {
    const queue = createMemoryQueue({ generateId: () => "fixed-id" });
    expect(await queue.enqueue(job(1))).toEqual({ jobId: "fixed-id" });
  });

  it("refuses to drain without a consumer", async () => {
    await expect(createMemoryQueue().drain()).rejects.toThrow("consume");
  });

  it("gives up draining a job that re-enqueues itself forever", async () => {
    const queue = createMemoryQueue({ clock: createManualClock(start), maxRunsPerDrain: 20 });
    queue.consume(async (j) => void (await queue.enqueue(j)));
    await queue.enqueue(job(1));
    await expect(queue.drain()).rejects.toThrow("more are still due");
  });

  describe("with autoRun", () => {
    it("runs jobs by itself, one at a time with concurrency 1, and idle() resolves when all are done", async () => {
      const queue = createMemoryQueue({ autoRun: true, concurrency: 1 });
      let active = 0;
      let maxActive = 0;
      const ran: number[] = [];
      queue.consume(async (j) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 1));
        ran.push(j.broadcastId);
        active -= 1;
      });
      await Promise.all([1, 2, 3].map((id) => queue.enqueue(job(id))));
      await queue.idle();
      expect(ran.sort()).toEqual([1, 2, 3]);
      expect(maxActive).toBe(1);
      queue.close();
    });

    it("runs up to ten jobs at once by default: broadcasts send side by side", async () => {
      const queue = createMemoryQueue({ autoRun: true });
      let active = 0;
      let maxActive = 0;
      queue.consume(async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        active -= 1;
      });
      await Promise.all(Array.from({ length: 12 }, (_, i) => queue.enqueue(job(i + 1))));
      await queue.idle();
      expect(maxActive).toBe(10);
      queue.close();
    });

    it("runs up to `concurrency` jobs at once", async () => {
      const queue = createMemoryQueue({ autoRun: true, concurrency: 3 });
      let active = 0;
      let maxActive = 0;
      queue.consume(async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        active -= 1;
      });
      await Promise.all([1, 2, 3, 4, 5, 6].map((id) => queue.enqueue(job(id))));
      await queue.idle();
      expect(maxActive).toBe(3);
      queue.close();
    });

    it("runs a delayed job once its delay has passed on the real clock", async () => {
      const queue = createMemoryQueue({ autoRun: true });
      const ran: number[] = [];
      queue.consume(async (j) => void ran.push(j.broadcastId));
      await queue.enqueue(job(9), { delayMs: 20 });
      expect(ran).toEqual([]);
      await queue.idle();
      expect(ran).toEqual([9]);
      queue.close();
    });
  });
});

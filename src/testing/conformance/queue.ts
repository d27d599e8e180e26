import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { SendJob } from "../../core/types.js";
import type { JobHandler, JobQueue } from "../../ports/queue.js";

/** A queue this suite can also consume from. */
export interface ConformingQueue extends JobQueue {
  consume(handler: JobHandler): void;
  close(): void | Promise<void>;
}

export interface QueueSettings {
  /** Unique per test; two queues made with the same name share their jobs (for durable queues). */
  readonly name: string;
  /** The first retry's delay: the suite uses a short one (retries back off from it). */
  readonly retryBaseDelayMs: number;
  /** Retries after a failed run. */
  readonly maxRetries: number;
}

export type MakeQueue = (settings: QueueSettings) => ConformingQueue | Promise<ConformingQueue>;

export interface QueueConformanceOptions {
  /**
   * The queue keeps jobs outside the process (Redis, a database): a job survives the queue object
   * (and process) that queued it. In-memory queues do not, and are not asked to.
   */
  readonly durable: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error("the queue did not get there in time");
    await sleep(10);
  }
}

const job = (broadcastId: number, extra: Partial<SendJob> = {}): SendJob => ({
  broadcastId,
  onlyFailed: false,
  ...extra,
});

/**
 * Declares a vitest suite that checks the promises of the `JobQueue` port (see
 * `src/ports/queue.ts`) on a queue that can also be consumed: every job runs with its data,
 * no earlier than its delay, once per dedupe key while it waits, again after a failed run with
 * growing delays, and (for durable queues) after the process that queued it is gone. It runs on
 * real time: keep `retryBaseDelayMs` short in `makeQueue`. The memory queue and BullMQ pass it.
 */
export function describeQueueConformance(
  label: string,
  makeQueue: MakeQueue,
  options: QueueConformanceOptions,
): void {
  describe(`JobQueue conformance: ${label}`, () => {
    const opened: ConformingQueue[] = [];
    const open = async (settings: Partial<QueueSettings> = {}) => {
      const queue = await makeQueue({
        name: settings.name ?? `bk-conformance-${randomUUID()}`,
        retryBaseDelayMs: settings.retryBaseDelayMs ?? 200,
        maxRetries: settings.maxRetries ?? 3,
      });
      opened.push(queue);
      return queue;
    };
    afterEach(async () => {
      for (const queue of opened.splice(0)) await queue.close();
    });

    it("runs every job once with its data, and answers an id for it", async () => {
      const queue = await open();
      const ran: SendJob[] = [];
      queue.consume(async (received) => {
        ran.push(received);
      });
      const first = await queue.enqueue(job(1));
      const second = await queue.enqueue(job(2, { onlyFailed: true, part: 3 }));
      await until(() => ran.length === 2);
      await sleep(100);

      expect(typeof first.jobId).toBe("string");
      expect(first.jobId.length).toBeGreaterThan(0);
      expect(first.jobId).not.toBe(second.jobId);
      expect(ran).toHaveLength(2);
      expect(ran).toEqual(expect.arrayContaining([job(1), { broadcastId: 2, onlyFailed: true, part: 3 }]));
    });

    it("runs a delayed job no earlier than its delay", async () => {
      const queue = await open();
      const ranAt: number[] = [];
      queue.consume(async () => {
        ranAt.push(Date.now());
      });
      const queuedAt = Date.now();
      await queue.enqueue(job(1), { delayMs: 400 });
      await until(() => ranAt.length === 1);

      expect(ranAt[0]! - queuedAt).toBeGreaterThanOrEqual(400);
    });

    it("adds nothing for a dedupe key whose job still waits, and answers that job's id", async () => {
      const queue = await open();
      const ran: SendJob[] = [];
      const first = await queue.enqueue(job(1), { delayMs: 300, dedupeKey: "send:1:later" });
      const again = await queue.enqueue(job(1), { delayMs: 300, dedupeKey: "send:1:later" });
      const other = await queue.enqueue(job(1), { delayMs: 300, dedupeKey: "send:1:now" });
      queue.consume(async (received) => {
        ran.push(received);
      });
      await until(() => ran.length >= 2);
      await sleep(500);

      expect(again.jobId).toBe(first.jobId);
      expect(other.jobId).not.toBe(first.jobId);
      expect(ran).toHaveLength(2);
    });

    it("queues a job with a running job's dedupe key to run after it: a job can queue its own follow-up", async () => {
      const queue = await open();
      let runs = 0;
      queue.consume(async (received) => {
        runs += 1;
        if (runs === 1) {
          await queue.enqueue(received, { dedupeKey: "send:1:now" });
          await sleep(100);
        }
      });
      await queue.enqueue(job(1), { dedupeKey: "send:1:now" });
      await until(() => runs === 2);
      await sleep(300);

      expect(runs).toBe(2);
    });

    it("runs a failed run again (a rejection, or an Err answer), later each time, a bounded number of times", async () => {
      const queue = await open({ retryBaseDelayMs: 150, maxRetries: 2 });
      const runsAt: number[] = [];
      queue.consume(async () => {
        runsAt.push(Date.now());
        if (runsAt.length === 1) throw new Error("store down");
        return { isErr: () => true, error: { type: "storage" } };
      });
      await queue.enqueue(job(1));
      await until(() => runsAt.length === 3);
      await sleep(1200);

      expect(runsAt).toHaveLength(3);
      const [first = 0, second = 0, third = 0] = runsAt;
      expect(second - first).toBeGreaterThanOrEqual(150);
      expect(third - second).toBeGreaterThan(second - first);
    });

    if (options.durable) {
      it("keeps a job when the process that queued it is gone: another one runs it", async () => {
        const name = `bk-conformance-${randomUUID()}`;
        const queuing = await open({ name });
        await queuing.enqueue(job(7), { dedupeKey: "send:7:now" });
        await queuing.close();
        opened.splice(opened.indexOf(queuing), 1);

        const consuming = await open({ name });
        const ran: SendJob[] = [];
        consuming.consume(async (received) => {
          ran.push(received);
        });
        await until(() => ran.length === 1);

        expect(ran).toEqual([job(7)]);
      });
    }
  });
}

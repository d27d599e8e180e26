import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMs } from "../../core/retry-policy.js";
import type { SendJob } from "../../core/types.js";
import type { Clock } from "../../ports/clock.js";
import type { EnqueuedJob, EnqueueOptions, JobHandler, JobQueue } from "../../ports/queue.js";

/** How failed runs are retried: by default 60 s, 120 s, 240 s, then the job is a dead letter. */
export type QueueRetryOptions = Partial<
  Pick<RetryPolicy, "maxRetries" | "baseDelayMs" | "factor" | "maxDelayMs">
>;

export interface MemoryQueueOptions {
  /** Due times are measured on this clock (the system clock by default). */
  readonly clock?: Clock;
  readonly retry?: QueueRetryOptions;
  /**
   * Run due jobs by themselves once `consume` is called, on real timers (for demos and servers on
   * the system clock). Off by default: tests call `drain()` and move a manual clock.
   */
  readonly autoRun?: boolean;
  /**
   * Jobs run at once in `autoRun` mode (default 10). A send job runs as long as its broadcast
   * sends, so this is how many broadcasts send side by side: with one, a second broadcast would
   * wait for the first to finish. Broadcasts sharing one sender share its pace.
   */
  readonly concurrency?: number;
  /** Job ids; `job-1`, `job-2`, … by default. */
  readonly generateId?: () => string;
  /** `drain()` gives up (rejects) after this many runs: a job that re-enqueues itself forever is a bug. */
  readonly maxRunsPerDrain?: number;
}

export interface PendingJob {
  readonly jobId: string;
  readonly job: SendJob;
  readonly dueAt: Date;
  readonly dedupeKey: string | null;
  /** Runs of this job that failed so far. */
  readonly failedRuns: number;
}

export interface DeadLetter {
  readonly jobId: string;
  readonly job: SendJob;
  readonly failedRuns: number;
  /** The rejection, or the `Err`'s error, of the last run. */
  readonly lastError: unknown;
}

export interface MemoryQueue extends JobQueue {
  /** Sets the handler every job is given to (replacing an earlier one). */
  consume(handler: JobHandler): void;
  /** Runs every job due by `clock.now()`, and the due jobs those enqueue, until none is due. */
  drain(): Promise<void>;
  /** Waiting jobs, soonest first. */
  pending(): PendingJob[];
  /** Jobs whose every run failed, after the last retry. */
  readonly deadLetters: readonly DeadLetter[];
  /** Resolves once no job is waiting or running. */
  idle(): Promise<void>;
  /** Stops `autoRun` timers; waiting jobs stay waiting. */
  close(): void;
  /** Forgets every waiting job, as a restart of this process would; answers how many there were. */
  clear(): number;
}

interface Entry {
  readonly jobId: string;
  readonly job: SendJob;
  readonly dedupeKey: string | null;
  readonly sequence: number;
  dueAt: number;
  failedRuns: number;
}

const DEFAULT_MAX_RUNS_PER_DRAIN = 100_000;
const DEFAULT_CONCURRENCY = 10;

const systemClock: Clock = { now: () => new Date() };

/** `isErr() === true`: a neverthrow `Err` or anything shaped like one. */
function failureOf(value: unknown): { failed: true; error: unknown } | { failed: false } {
  if (typeof value !== "object" || value === null || !("isErr" in value)) return { failed: false };
  const result = value as { isErr: unknown; error?: unknown };
  if (typeof result.isErr !== "function" || result.isErr() !== true) return { failed: false };
  return { failed: true, error: result.error };
}

/**
 * An in-process `JobQueue` for tests, demos and single-process hosts. Jobs live in memory only:
 * they are lost when the process exits.
 */
export function createMemoryQueue(options: MemoryQueueOptions = {}): MemoryQueue {
  const clock = options.clock ?? systemClock;
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry, jitter: 0 };
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const maxRunsPerDrain = options.maxRunsPerDrain ?? DEFAULT_MAX_RUNS_PER_DRAIN;
  let counter = 0;
  const generateId = options.generateId ?? (() => `job-${++counter}`);
  let sequence = 0;
  const waiting: Entry[] = [];
  const deadLetters: DeadLetter[] = [];
  const idleWaiters: (() => void)[] = [];
  let handler: JobHandler | null = null;
  let running = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;

  const waitingWithKey = (key: string) => waiting.find((e) => e.dedupeKey === key);

  /** Removes and returns the job due soonest (earliest due time, then first enqueued). */
  function takeDue(now: number): Entry | undefined {
    let best = -1;
    for (let i = 0; i < waiting.length; i += 1) {
      const e = waiting[i]!;
      if (e.dueAt > now) continue;
      const b = waiting[best];
      if (b === undefined || e.dueAt < b.dueAt || (e.dueAt === b.dueAt && e.sequence < b.sequence)) best = i;
    }
    return best === -1 ? undefined : waiting.splice(best, 1)[0];
  }

  function settleIdle(): void {
    if (waiting.length > 0 || running > 0) return;
    for (const resolve of idleWaiters.splice(0)) resolve();
  }

  async function run(entry: Entry, runWith: JobHandler): Promise<void> {
    running += 1;
    let outcome: { failed: true; error: unknown } | { failed: false };
    try {
      outcome = failureOf(await runWith(entry.job, { jobId: entry.jobId, dueAt: new Date(entry.dueAt) }));
    } catch (error) {
      outcome = { failed: true, error };
    } finally {
      running -= 1;
    }
    if (outcome.failed) {
      entry.failedRuns += 1;
      if (entry.failedRuns > retry.maxRetries) {
        deadLetters.push({
          jobId: entry.jobId,
          job: entry.job,
          failedRuns: entry.failedRuns,
          lastError: outcome.error,
        });
      } else if (entry.dedupeKey === null || waitingWithKey(entry.dedupeKey) === undefined) {
        // A newer job with the same key already covers this one: jobs are safe to run again.
        entry.dueAt = clock.now().getTime() + retryDelayMs(retry, entry.failedRuns);
        waiting.push(entry);
      }
    }
    pump();
    settleIdle();
  }

  function pump(): void {
    if (!options.autoRun || handler === null || closed) return;
    const runWith = handler;
    while (running < concurrency) {
      const entry = takeDue(clock.now().getTime());
      if (entry === undefined) break;
      void run(entry, runWith);
    }
    armTimer();
  }

  function armTimer(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (running >= concurrency || waiting.length === 0) return;
    const soonest = Math.min(...waiting.map((e) => e.dueAt));
    timer = setTimeout(
      () => {
        timer = null;
        pump();
      },
      Math.max(0, soonest - clock.now().getTime()),
    );
  }

  return {
    async enqueue(job: SendJob, enqueueOptions: EnqueueOptions = {}): Promise<EnqueuedJob> {
      const key = enqueueOptions.dedupeKey ?? null;
      const existing = key === null ? undefined : waitingWithKey(key);
      if (existing !== undefined) return { jobId: existing.jobId };
      const entry: Entry = {
        jobId: generateId(),
        job:
          job.part === undefined || job.part === 0
            ? { broadcastId: job.broadcastId, onlyFailed: job.onlyFailed }
            : { broadcastId: job.broadcastId, onlyFailed: job.onlyFailed, part: job.part },
        dedupeKey: key,
        sequence: ++sequence,
        dueAt: clock.now().getTime() + Math.max(0, enqueueOptions.delayMs ?? 0),
        failedRuns: 0,
      };
      waiting.push(entry);
      queueMicrotask(pump);
      return { jobId: entry.jobId };
    },

    consume(next: JobHandler): void {
      handler = next;
      pump();
    },

    async drain(): Promise<void> {
      if (handler === null) throw new Error("createMemoryQueue: call consume(handler) before drain()");
      for (let runs = 0; ; runs += 1) {
        const entry = takeDue(clock.now().getTime());
        if (entry === undefined) return;
        if (runs >= maxRunsPerDrain) {
          waiting.push(entry);
          throw new Error(`createMemoryQueue: drain() ran ${runs} jobs and more are still due`);
        }
        await run(entry, handler);
      }
    },

    pending(): PendingJob[] {
      return [...waiting]
        .sort((a, b) => a.dueAt - b.dueAt || a.sequence - b.sequence)
        .map((e) => ({
          jobId: e.jobId,
          job: { ...e.job },
          dueAt: new Date(e.dueAt),
          dedupeKey: e.dedupeKey,
          failedRuns: e.failedRuns,
        }));
    },

    get deadLetters(): readonly DeadLetter[] {
      return [...deadLetters];
    },

    idle(): Promise<void> {
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      });
    },

    clear(): number {
      const dropped = waiting.splice(0).length;
      settleIdle();
      return dropped;
    },

    close(): void {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}

import { type ConnectionOptions, type Job, Queue, Worker } from "bullmq";
import { z } from "zod";
import type { SendJob } from "../../core/types.js";
import type { Logger } from "../../ports/logger.js";
import type { EnqueuedJob, EnqueueOptions, JobHandler } from "../../ports/queue.js";
import type { ConsumableQueue } from "../../service/broadcast-kit.js";
import { silentLogger } from "../../service/defaults.js";

export interface BullmqQueueOptions {
  /**
   * How to reach Redis: ioredis options (`{ host, port }`) or an ioredis instance, as BullMQ takes
   * them. A consuming process opens its own blocking connection.
   */
  readonly connection: ConnectionOptions;
  /** Default `broadcastkit`. Every process of one deployment uses the same name. */
  readonly queueName?: string;
  /** BullMQ's key prefix (default `bull`). */
  readonly prefix?: string;
  /** Failed runs are retried this many times, 60 s, 120 s, 240 s apart by default (the seed's Celery task). */
  readonly retry?: { readonly maxRetries?: number; readonly baseDelayMs?: number };
  /** Finished jobs kept for look-ups (Bull Board, `task_id`), bounded so Redis does not grow. */
  readonly keep?: {
    readonly completed?: { readonly ageSeconds: number; readonly count: number };
    readonly failed?: { readonly ageSeconds: number; readonly count: number };
  };
  /** Send jobs this process runs at once when it consumes (BullMQ's worker concurrency). Default 10. */
  readonly concurrency?: number;
  /**
   * How soon a job whose process died runs again elsewhere. A consuming process holds a lock on
   * each job it runs for `lockDurationMs` (renewed at half of it while the process lives); every
   * `checkIntervalMs` each consumer puts jobs whose lock expired back in the queue. A job whose
   * process died is thus taken again after at most about `lockDurationMs + checkIntervalMs`
   * (BullMQ's defaults: 30 s each). Shorter values bring a broadcast back sooner at the cost of
   * more Redis calls; a process whose event loop stalls longer than `lockDurationMs` (a long GC
   * pause, a debugger) sees its job run in a second process too, which the store's leases make
   * harmless. The scheduler's recovery sweep also queues a `sending` broadcast nobody holds leases
   * on, so a lost job never waits longer than its lease plus a tick.
   */
  readonly stalled?: { readonly lockDurationMs?: number; readonly checkIntervalMs?: number };
  readonly logger?: Logger;
}

export interface BullmqQueue extends ConsumableQueue {
  enqueue(job: SendJob, options?: EnqueueOptions): Promise<EnqueuedJob>;
  /** Starts a BullMQ worker in this process that hands every send job to `handler`. */
  consume(handler: JobHandler): void;
  /**
   * The scheduler's tick, once per `intervalMs` across every process (a BullMQ job scheduler):
   * whichever process takes the tick's job runs `tick`. Every process that schedules ticks checks
   * once per interval that the job scheduler is still in Redis and creates it again when it is not
   * (a Redis restarted without persistence, a flushed database), so ticks resume on their own.
   */
  scheduleTicks(intervalMs: number, tick: () => Promise<unknown>): Promise<void>;
  /**
   * Stops taking jobs and waits for the running ones (close the send worker first, so they end
   * at once), then closes the connections this queue opened.
   */
  close(): Promise<void>;
  /** The BullMQ queue itself, for Bull Board or your own look-ups. */
  readonly bullQueue: Queue;
}

const positiveMs = (name: string, value: number | undefined): void => {
  if (value !== undefined && !(Number.isFinite(value) && value > 0))
    throw new RangeError(`${name} must be a positive number of milliseconds`);
};

const SEND = "send";
const TICK = "tick";
const TICK_SCHEDULER = "broadcastkit:tick";

/** Jobs come back from Redis as data: checked like any input before they reach the worker. */
const sendJobData = z.object({
  broadcastId: z.number(),
  onlyFailed: z.boolean(),
  part: z.number().optional(),
});

/** A neverthrow `Err` (or anything shaped like one), for the handler's answer. */
function failureOf(value: unknown): unknown {
  if (typeof value !== "object" || value === null || !("isErr" in value)) return undefined;
  const result = value as { isErr: unknown; error?: unknown };
  return typeof result.isErr === "function" && result.isErr() === true
    ? (result.error ?? "failed")
    : undefined;
}

/**
 * The `JobQueue` port over BullMQ, and its consuming side. A send job is a BullMQ job named
 * `send`; its id is the seed's `task_id`.
 *
 * - Deduplication is BullMQ's own: a job with a dedupe key absorbs later ones with the same key
 *   while it waits; while it runs, the next one is kept and queued once it ends
 *   (`keepLastIfActive`), so a job that queues its own continuation or is closed mid-run never
 *   swallows the follow-up.
 * - A failed run (the handler rejects or answers an `Err`) is retried with exponential backoff
 *   from `baseDelayMs` (60 s, 120 s, 240 s), `maxRetries` times.
 * - A process that dies mid-job loses BullMQ's lock on it; after `lockDuration` another process's
 *   stalled-job check puts it back, and it runs again (the store's leases make that harmless).
 */
export function createBullmqQueue(options: BullmqQueueOptions): BullmqQueue {
  const name = options.queueName ?? "broadcastkit";
  const logger = options.logger ?? silentLogger;
  const maxRetries = options.retry?.maxRetries ?? 3;
  const baseDelayMs = options.retry?.baseDelayMs ?? 60_000;
  const completed = options.keep?.completed ?? { ageSeconds: 24 * 3600, count: 1000 };
  const failed = options.keep?.failed ?? { ageSeconds: 7 * 24 * 3600, count: 10_000 };
  const { lockDurationMs, checkIntervalMs } = options.stalled ?? {};
  positiveMs("stalled.lockDurationMs", lockDurationMs);
  positiveMs("stalled.checkIntervalMs", checkIntervalMs);
  const base = {
    connection: options.connection,
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
  };
  const queue = new Queue(name, {
    ...base,
    defaultJobOptions: {
      attempts: maxRetries + 1,
      backoff: { type: "exponential", delay: baseDelayMs },
      removeOnComplete: { age: completed.ageSeconds, count: completed.count },
      removeOnFail: { age: failed.ageSeconds, count: failed.count },
    },
  });
  // A Redis that goes away is reported on every call; the emitter must not crash the process.
  queue.on("error", (error) => logger.warn({ err: error }, "BullMQ queue connection error"));
  let worker: Worker | null = null;
  let tick: (() => Promise<unknown>) | null = null;
  let handler: JobHandler | null = null;
  let tickWatch: ReturnType<typeof setInterval> | null = null;
  let closed = false;

  async function process(job: Job): Promise<unknown> {
    if (job.name === TICK) {
      logger.debug({ jobId: job.id }, "scheduler tick");
      if (tick !== null) await tick();
      return null;
    }
    if (handler === null) throw new Error("broadcastkit: a send job reached a process with no handler");
    const data = sendJobData.parse(job.data);
    const sendJob =
      data.part === undefined ? { broadcastId: data.broadcastId, onlyFailed: data.onlyFailed } : data;
    const dueAt = new Date(job.timestamp + (job.opts.delay ?? 0));
    const answer = await handler(sendJob, { jobId: job.id ?? "", dueAt });
    const failure = failureOf(answer);
    if (failure !== undefined) {
      // BullMQ retries a run that throws; the error names the failure's type, never its cause.
      const type =
        typeof failure === "object" && failure !== null && "type" in failure
          ? String(failure.type)
          : "failed";
      throw new Error(`send job failed: ${type}`);
    }
    return null;
  }

  function startWorker(): Worker {
    if (worker !== null) return worker;
    const started = new Worker(name, process, {
      ...base,
      concurrency: options.concurrency ?? 10,
      // A send job runs as long as its broadcast sends: a stalled one (its process died) is put
      // back however often it stalls, and the store's leases keep two runs apart.
      maxStalledCount: 1000,
      ...(lockDurationMs === undefined ? {} : { lockDuration: lockDurationMs }),
      ...(checkIntervalMs === undefined ? {} : { stalledInterval: checkIntervalMs }),
    });
    started.on("error", (error) => logger.warn({ err: error }, "BullMQ worker error"));
    started.on("failed", (job, error) =>
      logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: error }, "send job run failed"),
    );
    worker = started;
    return started;
  }

  return {
    bullQueue: queue,

    async enqueue(job: SendJob, enqueueOptions: EnqueueOptions = {}): Promise<EnqueuedJob> {
      const data =
        job.part === undefined || job.part === 0
          ? { broadcastId: job.broadcastId, onlyFailed: job.onlyFailed }
          : { broadcastId: job.broadcastId, onlyFailed: job.onlyFailed, part: job.part };
      const added = await queue.add(SEND, data, {
        ...(enqueueOptions.delayMs === undefined || enqueueOptions.delayMs <= 0
          ? {}
          : { delay: Math.ceil(enqueueOptions.delayMs) }),
        ...(enqueueOptions.dedupeKey === undefined
          ? {}
          : { deduplication: { id: enqueueOptions.dedupeKey, keepLastIfActive: true } }),
      });
      if (added.id === undefined) throw new Error("BullMQ answered a job without an id");
      return { jobId: added.id };
    },

    consume(next: JobHandler): void {
      handler = next;
      startWorker();
    },

    async scheduleTicks(intervalMs: number, run: () => Promise<unknown>): Promise<void> {
      positiveMs("intervalMs", intervalMs);
      tick = run;
      startWorker();
      const upsert = () =>
        queue.upsertJobScheduler(
          TICK_SCHEDULER,
          { every: intervalMs },
          { name: TICK, opts: { removeOnComplete: true, removeOnFail: 100, attempts: 1 } },
        );
      await upsert();
      if (tickWatch !== null) return;
      let checking = false;
      // Redis keeps the job scheduler only as long as it keeps its data: one that restarts empty
      // would otherwise never tick again, and nothing would bring back the send jobs it lost.
      tickWatch = setInterval(() => {
        if (checking || closed) return;
        checking = true;
        void queue
          .getJobScheduler(TICK_SCHEDULER)
          .then(async (existing) => {
            if (existing !== undefined || closed) return;
            await upsert();
            logger.warn({ intervalMs }, "scheduler tick was missing from Redis; scheduled again");
          })
          .catch((error: unknown) => logger.warn({ err: error }, "could not check the scheduler tick"))
          .finally(() => {
            checking = false;
          });
      }, intervalMs);
      tickWatch.unref?.();
    },

    async close(): Promise<void> {
      closed = true;
      if (tickWatch !== null) clearInterval(tickWatch);
      tickWatch = null;
      await worker?.close();
      await queue.close();
    },
  };
}

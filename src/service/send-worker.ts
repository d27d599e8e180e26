import { err, errAsync, type Result, ResultAsync } from "neverthrow";
import { z } from "zod";
import { type BroadcastError, storageError } from "../core/errors.js";
import { retryPolicy } from "../core/retry-policy.js";
import { broadcastIdSchema, parseInput } from "../core/schemas.js";
import { MAX_PARALLELISM } from "../core/types.js";
import { silentLogger, systemClock } from "./defaults.js";
import { eventEmitter, guardLogger } from "./guarded-ports.js";
import type { ServiceDeps } from "./service-deps.js";
import { guardTelemetry } from "./telemetry.js";
import type { SendWorker, SendWorkerOptions, WorkerRunSummary } from "./types.js";
import type { DeliveryContext } from "./worker/deliver.js";
import { type RunSettings, SendRun } from "./worker/send-run.js";

/** The defaults, and why. */
export const WORKER_DEFAULTS = {
  /** Telegram's free 30/s over round trips up to ~500 ms (in flight ≈ rate × round trip). */
  concurrency: 16,
  /**
   * Recipients per claim, and settled outcomes per write. Large, because a batch costs the SQL
   * stores a handful of round trips and commits whatever its size: at 100 they spent more time
   * per recipient on those than on the rows. It bounds neither progress (written at least every
   * `flushIntervalMs`) nor what a crash re-sends (the unwritten outcomes, at most a second's
   * worth at the sender's pace, and never more than two batches); unstarted recipients of a
   * crashed claim wait for its lease.
   */
  batchSize: 1000,
  /** Progress is never more than about a second behind the sends. */
  flushIntervalMs: 1000,
  /** Renewed every 10 s while held, so a crashed worker's recipients come back within 30 s. */
  leaseMs: 30_000,
  /** A cancel or pause made in another process stops this worker's sends within a quarter second. */
  statusPollMs: 250,
  errorLogLimit: 1000,
} as const;

const workerSettingsSchema = z.object({
  concurrency: z.int().min(1).max(10_000),
  batchSize: z.int().min(1).max(10_000),
  flushIntervalMs: z.int().min(1),
  leaseMs: z.int().min(3),
  statusPollMs: z.int().min(1),
  errorLogLimit: z.int().nonnegative(),
});

/** Queues hand jobs over as data (JSON, in BullMQ): check them like any other input. */
const sendJobSchema = z.object({
  broadcastId: broadcastIdSchema,
  onlyFailed: z.boolean().default(false),
  part: z
    .int()
    .min(0)
    .max(MAX_PARALLELISM - 1)
    .optional(),
});

/**
 * Runs send jobs: claims pending recipients under renewed leases, keeps up to `concurrency` sends
 * in flight, writes settled outcomes by count and by time, stops at once on a cancel or pause, and
 * settles the broadcast when nobody is pending. See `SendRun` for one run's life.
 */
export function createSendWorker(options: SendWorkerOptions): SendWorker {
  const parsed = workerSettingsSchema.safeParse({
    concurrency: options.concurrency ?? WORKER_DEFAULTS.concurrency,
    batchSize: options.batchSize ?? WORKER_DEFAULTS.batchSize,
    flushIntervalMs: options.flushIntervalMs ?? WORKER_DEFAULTS.flushIntervalMs,
    leaseMs: options.leaseMs ?? WORKER_DEFAULTS.leaseMs,
    statusPollMs: options.statusPollMs ?? WORKER_DEFAULTS.statusPollMs,
    errorLogLimit: options.errorLogLimit ?? WORKER_DEFAULTS.errorLogLimit,
  });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new RangeError(`createSendWorker: ${issues.join("; ")}`);
  }
  const logger = guardLogger(options.logger ?? silentLogger);
  const clock = options.clock ?? systemClock;
  const deps: ServiceDeps = {
    store: options.store,
    queue: options.queue,
    clock,
    logger,
    emit: eventEmitter(options.events, logger),
    signals: options.signals,
    telemetry: guardTelemetry(options.telemetry, logger),
  };
  const delivery: DeliveryContext = {
    sender: options.sender,
    clock,
    logger,
    policy: retryPolicy(options.retry),
    guarantee: options.guarantee ?? "at-least-once",
    random: options.random ?? Math.random,
  };
  const settings: RunSettings = {
    ...parsed.data,
    owner: options.workerId ?? `worker-${globalThis.crypto.randomUUID()}`,
  };
  const running = new Set<SendRun>();
  const finishing = new Set<Promise<unknown>>();
  let closed = false;

  return {
    handle(job, context) {
      const checked = parseInput(sendJobSchema, job);
      if (checked.isErr()) return errAsync(checked.error);
      const run = new SendRun({ deps, delivery, settings }, checked.value, context);
      if (closed) run.close();
      running.add(run);
      const done = run
        .execute()
        .catch((cause: unknown): Result<WorkerRunSummary, BroadcastError> => {
          logger.error(
            { err: cause, broadcastId: checked.value.broadcastId },
            "send job failed unexpectedly",
          );
          return err(storageError(cause));
        })
        .finally(() => {
          running.delete(run);
          finishing.delete(done);
        });
      finishing.add(done);
      return new ResultAsync(done);
    },

    async close() {
      closed = true;
      for (const run of running) run.close();
      await Promise.all([...finishing]);
    },
  };
}

import { err, type Result } from "neverthrow";
import { type BroadcastError, storageError } from "../core/errors.js";
import type { Logger } from "../ports/logger.js";
import { silentLogger } from "./defaults.js";
import { guardLogger } from "./guarded-ports.js";
import type { BroadcastService, ProcessScheduledResult } from "./types.js";

export interface SchedulerOptions {
  readonly service: Pick<BroadcastService, "processScheduled">;
  /** How often due broadcasts are looked for. Default one minute (the seed's Celery beat). */
  readonly intervalMs?: number;
  readonly logger?: Logger;
}

export interface Scheduler {
  /** Starts ticking every `intervalMs`; the first tick comes after one interval. Starting twice does nothing. */
  start(): void;
  /** Stops ticking and waits for a tick that is running. */
  stop(): Promise<void>;
  /**
   * Runs `processScheduled` now. Ticks never overlap: a tick asked for while one runs starts
   * nothing and answers the running tick's result.
   */
  tick(): Promise<Result<ProcessScheduledResult, BroadcastError>>;
}

/** Runs the service's `processScheduled` on a timer, one tick at a time. */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { service, intervalMs = 60_000 } = options;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0)
    throw new RangeError("intervalMs must be a positive number");
  const logger = guardLogger(options.logger ?? silentLogger);
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<Result<ProcessScheduledResult, BroadcastError>> | undefined;

  async function runTick(): Promise<Result<ProcessScheduledResult, BroadcastError>> {
    try {
      const result = await service.processScheduled();
      result.match(
        (counts) => {
          if (counts.found > 0) logger.info({ ...counts }, "scheduler tick");
        },
        (failure) => logger.error({ failure: failure.type }, "scheduler tick failed"),
      );
      return result;
    } catch (cause) {
      // The service answers with data; a throw here is a bug that must not stop the timer.
      logger.error({ err: cause }, "scheduler tick threw");
      return err(storageError(cause));
    }
  }

  function tick(): Promise<Result<ProcessScheduledResult, BroadcastError>> {
    if (running !== undefined) {
      logger.debug({}, "scheduler tick skipped: the previous one is still running");
      return running;
    }
    const current = runTick().finally(() => {
      running = undefined;
    });
    running = current;
    return current;
  }

  return {
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => void tick(), intervalMs);
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (running !== undefined) await running;
    },
    tick,
  };
}

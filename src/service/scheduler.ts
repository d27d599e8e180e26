import { err, ok, type Result } from "neverthrow";
import { type BroadcastError, storageError } from "../core/errors.js";
import type { Logger } from "../ports/logger.js";
import { silentLogger } from "./defaults.js";
import { guardLogger } from "./guarded-ports.js";
import type { BroadcastService, ProcessScheduledResult, RecoverStalledResult } from "./types.js";

export interface SchedulerOptions {
  /** `processScheduled` runs on every tick; `recoverStalled`, when the service has it, right after. */
  readonly service: Pick<BroadcastService, "processScheduled"> &
    Partial<Pick<BroadcastService, "recoverStalled">>;
  /** How often due broadcasts are looked for. Default one minute (the seed's Celery beat). */
  readonly intervalMs?: number;
  readonly logger?: Logger;
}

/** What one tick did. */
export interface SchedulerTickResult {
  readonly scheduled: ProcessScheduledResult;
  /** `null` when the service cannot recover, or the sweep failed (logged; the next tick tries again). */
  readonly recovered: RecoverStalledResult | null;
}

export interface Scheduler {
  /** Starts ticking every `intervalMs`; the first tick comes after one interval. Starting twice does nothing. */
  start(): void;
  /** Stops ticking and waits for a tick that is running. */
  stop(): Promise<void>;
  /**
   * Runs `processScheduled`, then the recovery sweep, now. Ticks never overlap: a tick asked for
   * while one runs starts nothing and answers the running tick's result.
   */
  tick(): Promise<Result<SchedulerTickResult, BroadcastError>>;
}

/**
 * Runs the service's `processScheduled` and `recoverStalled` on a timer, one tick at a time: due
 * broadcasts start, and `sending` broadcasts whose job was lost are queued again.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { service, intervalMs = 60_000 } = options;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0)
    throw new RangeError("intervalMs must be a positive number");
  const logger = guardLogger(options.logger ?? silentLogger);
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<Result<SchedulerTickResult, BroadcastError>> | undefined;

  async function recover(): Promise<RecoverStalledResult | null> {
    if (service.recoverStalled === undefined) return null;
    const swept = await service.recoverStalled();
    if (swept.isOk()) return swept.value;
    logger.error({ failure: swept.error.type }, "recovery sweep failed");
    return null;
  }

  async function runTick(): Promise<Result<SchedulerTickResult, BroadcastError>> {
    try {
      const result = await service.processScheduled();
      if (result.isErr()) {
        logger.error({ failure: result.error.type }, "scheduler tick failed");
        return err(result.error);
      }
      if (result.value.found > 0) logger.info({ ...result.value }, "scheduler tick");
      return ok({ scheduled: result.value, recovered: await recover() });
    } catch (cause) {
      // The service answers with data; a throw here is a bug that must not stop the timer.
      logger.error({ err: cause }, "scheduler tick threw");
      return err(storageError(cause));
    }
  }

  function tick(): Promise<Result<SchedulerTickResult, BroadcastError>> {
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

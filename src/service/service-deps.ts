import type { Clock } from "../ports/clock.js";
import type { Logger } from "../ports/logger.js";
import type { JobQueue } from "../ports/queue.js";
import type { BroadcastStore } from "../ports/store.js";
import type { Telemetry } from "../ports/telemetry.js";
import { silentLogger, systemClock } from "./defaults.js";
import { type Emit, eventEmitter, guardLogger } from "./guarded-ports.js";
import type { StatusSignals } from "./status-signals.js";
import { guardTelemetry } from "./telemetry.js";
import type { BroadcastServiceOptions } from "./types.js";

/** The ports with their defaults filled in and the host's logger and listeners made harmless. */
export interface ServiceDeps {
  readonly store: BroadcastStore;
  readonly queue: JobQueue;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly emit: Emit;
  /** This process's workers, told of every stored status change; absent when nobody listens. */
  readonly signals?: StatusSignals | undefined;
  /** The host's telemetry, guarded (a no-op when none was given). */
  readonly telemetry: Telemetry;
}

export function resolveDeps(options: BroadcastServiceOptions): ServiceDeps {
  const logger = guardLogger(options.logger ?? silentLogger);
  return {
    store: options.store,
    queue: options.queue,
    clock: options.clock ?? systemClock,
    logger,
    emit: eventEmitter(options.events, logger),
    signals: options.signals,
    telemetry: guardTelemetry(options.telemetry, logger),
  };
}

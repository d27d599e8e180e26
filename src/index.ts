export * from "./core/index.js";
export type * from "./ports/index.js";
export {
  type BroadcastKit,
  type BroadcastKitOptions,
  type ConsumableQueue,
  createBroadcastKit,
  type WorkerSettings,
} from "./service/broadcast-kit.js";
export { createBroadcastService } from "./service/broadcast-service.js";
export { silentLogger, systemClock } from "./service/defaults.js";
export {
  createScheduler,
  type Scheduler,
  type SchedulerOptions,
  type SchedulerTickResult,
} from "./service/scheduler.js";
export { createSendWorker, WORKER_DEFAULTS } from "./service/send-worker.js";
export { createStatusSignals, type StatusSignals } from "./service/status-signals.js";
export type * from "./service/types.js";

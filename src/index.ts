export * from "./core/index.js";
export type * from "./ports/index.js";
export { createBroadcastService } from "./service/broadcast-service.js";
export { silentLogger, systemClock } from "./service/defaults.js";
export { createScheduler, type Scheduler, type SchedulerOptions } from "./service/scheduler.js";
export { createSendWorker } from "./service/send-worker.js";
export type * from "./service/types.js";

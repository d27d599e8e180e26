export * from "./core/index.js";
export type * from "./ports/index.js";
export { silentLogger, systemClock } from "./service/defaults.js";
export type * from "./service/types.js";

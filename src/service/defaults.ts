import type { Clock } from "../ports/clock.js";
import type { Logger } from "../ports/logger.js";

export const systemClock: Clock = { now: () => new Date() };

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

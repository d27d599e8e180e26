/**
 * `broadcastkit/telegram`: the `MessageSender` for the Telegram Bot API, its rate limiters, and
 * the error classification it uses.
 */
export {
  classifyTelegramError,
  classifyTransportFailure,
  TELEGRAM_DESCRIPTION_RULES,
  type TelegramErrorAnswer,
  type TelegramResponseParameters,
} from "../../core/telegram-errors.js";
export type { GrammyAbortSignal, GrammyApi, GrammySendOptions } from "./grammy-transport.js";
export { createMemoryRateLimiter } from "./memory-rate-limiter.js";
export {
  type AcquireOptions,
  type Answered,
  isGroupChat,
  type RateLimiterFactory,
  type RateLimiterSettings,
  type Sleep,
  TELEGRAM_DEFAULT_LIMITS,
  type TelegramLimits,
  type TelegramRateLimiter,
  type Turn,
} from "./rate-limiter.js";
export { type RedisClient, type RedisRateLimiterOptions, redisRateLimiter } from "./redis-rate-limiter.js";
export {
  createTelegramSender,
  DEFAULT_TIMEOUT_MS,
  type FetchSenderOptions,
  type GrammySenderOptions,
  type TelegramSenderOptions,
} from "./sender.js";

import type { ChatId } from "../../core/types.js";
import type { Clock } from "../../ports/clock.js";
import type { Logger } from "../../ports/logger.js";

/**
 * Telegram's published broadcast limits (Bot FAQ, "My bot is hitting limits, how do I avoid
 * this?") and the room kept below them.
 */
export interface TelegramLimits {
  /** Messages per second for the whole bot. */
  readonly perSecond: number;
  /** Messages per second for the whole bot with `paidBroadcast` (`allow_paid_broadcast`). */
  readonly paidPerSecond: number;
  /** Messages per second to one chat. */
  readonly perChatPerSecond: number;
  /** Messages per minute to one group or channel (a negative chat id or an `@username`). */
  readonly perGroupPerMinute: number;
  /**
   * Extra room added to every window (and chat gap), in ms: 10 ms costs 1 % of the rate. The
   * in-process pacer needs none to stay within the limits at Telegram's end (it counts from
   * answers); it is there for hosts who want to stay further below them.
   */
  readonly marginMs: number;
}

export const TELEGRAM_DEFAULT_LIMITS: TelegramLimits = {
  perSecond: 30,
  paidPerSecond: 1_000,
  perChatPerSecond: 1,
  perGroupPerMinute: 20,
  marginMs: 0,
};

/** Waits `ms` milliseconds; on a manual clock, moves it forward instead. */
export type Sleep = (ms: number) => Promise<void>;

/** What a limiter implementation is built from; the sender fills it in from its own options. */
export interface RateLimiterSettings {
  readonly limits: TelegramLimits;
  readonly paidBroadcast: boolean;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly logger: Logger;
  /** Names this bot in shared stores (the bot's numeric id, which is public; never the token). */
  readonly botId: string;
}

/**
 * # Paces one bot's calls to Telegram
 *
 * Every `acquire` that resolves counts as one message about to be sent now. Implementations:
 * `createMemoryRateLimiter` (this process only) and `redisRateLimiter` (every process sharing a
 * Redis).
 */
export interface TelegramRateLimiter {
  /**
   * Resolves when one more message to `chatId` fits every limit, and counts it as sent now. The
   * caller must call the returned function once the call's answer (or failure, or timeout) came
   * back: limits are counted from answers, and an unanswered call holds later ones back. Rejects
   * only when the limiter's own store fails; the sender then reports a transient failure without
   * sending.
   */
  acquire(chatId: ChatId): Promise<Answered>;
  /** Stops every send of this bot for `ms` (a 429's `retry_after`); a shorter pause never cuts a longer one. */
  pause(ms: number): Promise<void>;
}

/** Tells the limiter that a call's answer came back: Telegram has received it by now. */
export type Answered = () => void;

/** Builds a limiter from the sender's settings, so limits and `paidBroadcast` are stated once. */
export type RateLimiterFactory = (settings: RateLimiterSettings) => TelegramRateLimiter;

/** Groups and channels have negative ids; an `@username` names a public channel or supergroup. */
export const isGroupChat = (chatId: ChatId): boolean =>
  typeof chatId === "string" ? !/^-?\d+$/.test(chatId) || chatId.startsWith("-") : chatId < 0;

/** The overall limit in force: paid broadcast lifts it. */
export const overallPerSecond = (settings: Pick<RateLimiterSettings, "limits" | "paidBroadcast">): number =>
  settings.paidBroadcast ? settings.limits.paidPerSecond : settings.limits.perSecond;

/** Shortest gap between two messages to `chatId`, margin included. */
export function chatGapMs(limits: TelegramLimits, chatId: ChatId): number {
  const perChat = 1000 / limits.perChatPerSecond;
  const perGroup = isGroupChat(chatId) ? 60_000 / limits.perGroupPerMinute : 0;
  return Math.max(perChat, perGroup) + limits.marginMs;
}

export const realSleep: Sleep = (ms) =>
  new Promise((resolve) => {
    setTimeout(resolve, Math.max(0, ms));
  });

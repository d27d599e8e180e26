import type { ChatId } from "../../core/types.js";
import type { Clock } from "../../ports/clock.js";
import type { Logger } from "../../ports/logger.js";
import { onAbort } from "./abort-watch.js";

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
   * pacers count a message from when it left, plus how much slower than the fastest recent round
   * trip its own was, so they need no margin for the network's jitter; it is there for hosts who
   * want to stay further below the limits, or whose network's delays can move from the way back
   * to the way there (the fastest recent call was then not fast both ways).
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

/**
 * Waits `ms` milliseconds; on a manual clock, moves it forward instead. It may return early once
 * `signal` aborts (the pacer checks the signal again), or ignore it.
 */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** What a limiter implementation is built from; the sender fills it in from its own options. */
export interface RateLimiterSettings {
  readonly limits: TelegramLimits;
  readonly paidBroadcast: boolean;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly logger: Logger;
  /** Names this bot in shared stores (the bot's numeric id, which is public; never the token). */
  readonly botId: string;
  /**
   * The sender's `timeoutMs`: the longest a call stays unanswered. A shared limiter holds a call's
   * slot at most this long (plus the window) if its process never reports the answer.
   */
  readonly timeoutMs: number;
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
   * Resolves when one more message to `chatId` fits every limit, and counts it as sent now:
   * `{ type: "acquired", answered }`. The caller must call `answered` once the call's answer (or
   * failure, or timeout) came back: an unanswered call counts in every window until then, and
   * a late answer counts the call as having reached Telegram late. Calls wait in the order they
   * asked (first come, first served), except that a call whose chat is not free yet steps aside
   * for other chats.
   *
   * When `options.signal` aborts while the call still waits, it resolves to `{ type: "aborted" }`
   * and gives its place up (later calls are not slowed); an already-aborted signal answers so at
   * once. Once acquired, the turn is the caller's: aborting no longer changes anything.
   *
   * Rejects only when the limiter's own store fails; the sender then reports a transient failure
   * without sending.
   */
  acquire(chatId: ChatId, options?: AcquireOptions): Promise<Turn>;
  /** Stops every send of this bot for `ms` (a 429's `retry_after`); a shorter pause never cuts a longer one. */
  pause(ms: number): Promise<void>;
}

export interface AcquireOptions {
  /** Gives up waiting once aborted. */
  readonly signal?: AbortSignal;
}

/** What `acquire` resolves to: the call may leave now, or it gave up waiting. */
export type Turn = { readonly type: "acquired"; readonly answered: Answered } | { readonly type: "aborted" };

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

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    let stopWatching = () => {};
    const timer = setTimeout(
      () => {
        stopWatching();
        resolve();
      },
      Math.max(0, ms),
    );
    if (signal !== undefined) {
      stopWatching = onAbort(signal, () => {
        clearTimeout(timer);
        resolve();
      });
    }
  });

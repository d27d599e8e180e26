import type { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { ChatId } from "../../core/types.js";
import { createMemoryRateLimiter } from "./memory-rate-limiter.js";
import {
  type Answered,
  isGroupChat,
  overallPerSecond,
  type RateLimiterFactory,
  type RateLimiterSettings,
  type TelegramRateLimiter,
} from "./rate-limiter.js";

/**
 * What the limiter calls of an ioredis client (`new Redis(...)` is one), written by shape so that
 * the type declarations do not import ioredis: a host that does not use Redis needs neither the
 * package nor its types. rate-limiter-flexible is handed the same client.
 */
export interface RedisClient {
  eval(script: string, numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  pttl(key: string): Promise<number>;
}

export interface RedisRateLimiterOptions {
  /** An ioredis client; the limiter never closes it. */
  readonly redis: RedisClient;
  /**
   * Prefix of every key. Processes sending for the same bot must share it (default
   * `broadcastkit:telegram:<bot id>`); two bots must not.
   */
  readonly keyPrefix?: string;
}

/**
 * Limits shared by every process that uses the same Redis and key prefix, counted by
 * rate-limiter-flexible's `RateLimiterRedis`, plus a 429 pause every process sees.
 *
 * rate-limiter-flexible counts in fixed windows of whole seconds; one counter of 30 per second
 * lets 30 pass at the end of one window and 30 more at the start of the next, 60 within one
 * second. So the overall limit is N one-per-second slots used in turn instead: call number `t`
 * (a shared counter) takes slot `t mod N`, which `RateLimiterRedis` frees one second after its
 * last use, and again one second after the call's answer (`block`), so that even a call that
 * reached Telegram late is counted there in its own second. No one-second window, wherever it
 * starts, can hold more than N calls. Each chat is one slot freed after its gap (1 s; 3 s for
 * groups: 20 per minute). In front of all this, an in-process pacer spreads this process's own
 * calls evenly. A 429 sets a key with a PX expiry that every process checks before each call.
 *
 * Redis is imported lazily, so hosts that do not use it do not need `rate-limiter-flexible`.
 */
export function redisRateLimiter(options: RedisRateLimiterOptions): RateLimiterFactory {
  return (settings) => new RedisTelegramRateLimiter(options, settings);
}

interface SharedCounters {
  readonly tickets: RateLimiterRedis;
  readonly slots: RateLimiterRedis;
  readonly chats: RateLimiterRedis;
  readonly isRejection: (value: unknown) => value is RateLimiterRes;
}

/** Sets the pause key unless a longer pause is already in force. */
const EXTEND_PAUSE = `local left = redis.call('pttl', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('set', KEYS[1], '1', 'PX', ARGV[1]) end
return 1`;

/** The ticket counter restarts now and then; a restart only makes one call wait for a busy slot. */
const TICKET_WINDOW_SECONDS = 3600;

class RedisTelegramRateLimiter implements TelegramRateLimiter {
  private readonly local: TelegramRateLimiter;
  private readonly prefix: string;
  private readonly slotCount: number;
  private counters: Promise<SharedCounters> | undefined;

  constructor(
    private readonly options: RedisRateLimiterOptions,
    private readonly settings: RateLimiterSettings,
  ) {
    this.local = createMemoryRateLimiter(settings);
    this.prefix = options.keyPrefix ?? `broadcastkit:telegram:${settings.botId}`;
    this.slotCount = Math.max(1, Math.floor(overallPerSecond(settings)));
  }

  /**
   * The chat first, then the overall slot, taken last so the call leaves right after it. The
   * chat's second restarts from the answer, so waiting for a slot cannot bring two messages to
   * one chat closer than its gap.
   */
  async acquire(chatId: ChatId): Promise<Answered> {
    const counters = await this.sharedCounters();
    // The local pacer only spreads this process's calls evenly; the shared slots count them, from
    // their answers. Its books are closed at once, or calls waiting here for a shared slot would
    // count as in flight and hold this process's later calls back a second time.
    const passedLocally = await this.local.acquire(chatId);
    passedLocally();
    const chat = await this.takeChat(counters, chatId);
    // A ticket per call, not per attempt: calls waiting for a slot queue on it in ticket order.
    const ticket = await counters.tickets.penalty("all", 1);
    const slot = String(ticket.consumedPoints % this.slotCount);
    await this.takeSlot(counters, slot);
    return () => this.holdUntilAnswered(counters, slot, chatId, chat.seconds);
  }

  async pause(ms: number): Promise<void> {
    const wholeMs = Math.max(1, Math.ceil(ms));
    await this.local.pause(wholeMs);
    await this.options.redis.eval(EXTEND_PAUSE, 1, this.pauseKey(), String(wholeMs));
  }

  private pauseKey(): string {
    return `${this.prefix}:pause`;
  }

  /** Waits out a 429 pause set by any process. */
  private async waitForPause(): Promise<void> {
    for (;;) {
      const pausedMs = await this.options.redis.pttl(this.pauseKey());
      if (pausedMs <= 0) return;
      await this.local.pause(pausedMs);
      await this.settings.sleep(pausedMs);
    }
  }

  private async takeSlot(counters: SharedCounters, slot: string): Promise<void> {
    for (;;) {
      await this.waitForPause();
      try {
        await counters.slots.consume(slot, 1);
        return;
      } catch (rejection) {
        if (!counters.isRejection(rejection)) throw rejection;
        await this.settings.sleep(Math.max(1, rejection.msBeforeNext));
      }
    }
  }

  /** Takes the chat's slot, waiting while another call (in any process) holds it; resolves to its duration. */
  private async takeChat(counters: SharedCounters, chatId: ChatId): Promise<{ seconds: number }> {
    const { perChatPerSecond, perGroupPerMinute } = this.settings.limits;
    const gapMs = Math.max(1000 / perChatPerSecond, isGroupChat(chatId) ? 60_000 / perGroupPerMinute : 0);
    const seconds = Math.max(1, Math.ceil(gapMs / 1000));
    for (;;) {
      try {
        await counters.chats.consume(String(chatId), 1, { customDuration: seconds });
        return { seconds };
      } catch (rejection) {
        if (!counters.isRejection(rejection)) throw rejection;
        await this.settings.sleep(Math.max(1, rejection.msBeforeNext));
      }
    }
  }

  /**
   * Restarts the slot's and the chat's second from the answer: Telegram received the call before
   * answering it, so counting from here keeps every window at Telegram's end within the limit,
   * however late the call arrived there. Best effort: the slots already run from when they were taken.
   */
  private holdUntilAnswered(
    counters: SharedCounters,
    slot: string,
    chatId: ChatId,
    chatSeconds: number,
  ): void {
    Promise.all([counters.slots.block(slot, 1), counters.chats.block(String(chatId), chatSeconds)]).catch(
      (error: unknown) => {
        this.settings.logger.warn(
          { error: error instanceof Error ? error.message : String(error) },
          "telegram rate limiter could not extend a slot",
        );
      },
    );
  }

  private sharedCounters(): Promise<SharedCounters> {
    this.counters ??= this.createCounters();
    return this.counters;
  }

  private async createCounters(): Promise<SharedCounters> {
    const flexible = await import("rate-limiter-flexible");
    const storeClient = this.options.redis;
    const limiter = (name: string, points: number, duration: number) =>
      new flexible.RateLimiterRedis({ storeClient, keyPrefix: `${this.prefix}:${name}`, points, duration });
    return {
      tickets: limiter("tickets", Number.MAX_SAFE_INTEGER, TICKET_WINDOW_SECONDS),
      slots: limiter("slot", 1, 1),
      chats: limiter("chat", 1, 1),
      isRejection: (value): value is RateLimiterRes => value instanceof flexible.RateLimiterRes,
    };
  }
}

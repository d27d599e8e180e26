import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { ChatId } from "../../core/types.js";
import { countedAt } from "./counted-window.js";
import { createMemoryRateLimiter, WINDOW_SLACK_MS } from "./memory-rate-limiter.js";
import {
  type AcquireOptions,
  chatGapMs,
  overallPerSecond,
  type RateLimiterFactory,
  type RateLimiterSettings,
  type TelegramRateLimiter,
  type Turn,
} from "./rate-limiter.js";
import { RoundTrips } from "./round-trips.js";

/**
 * What the limiter calls of an ioredis client (`new Redis(...)` is one), written by shape so that
 * the type declarations do not import ioredis: a host that does not use Redis needs neither the
 * package nor its types.
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
 * # Limits shared by every process that uses the same Redis and key prefix
 *
 * The overall limit is N slots (N = the limit per second), each a Redis key that a call holds:
 * call number `t` (a shared counter) waits for slot `t mod N`, so calls are served in the order
 * they asked, across processes. A call takes its slot just before it leaves and holds it while in
 * flight; once answered, the slot stays held until a window (one second plus margin plus
 * `WINDOW_SLACK_MS`) after the call was counted, as in the in-process pacer: from when it left,
 * plus how much slower than this process's fastest recent round trip its own was (it may have
 * reached Telegram that late; when a faster round trip shows up, the process holds its answered
 * slots longer accordingly). A slot is thus used at most once per window at Telegram's end, and
 * no one-second window holds more than N calls. A call whose process dies while in flight frees
 * its slot after `timeoutMs` plus the window.
 *
 * Each chat is a key of its own, held the same way and freed its gap (1 s; 3 s for groups) after
 * the answer. A 429 sets `<prefix>:pause` with a PX expiry (never shortening a longer one), which
 * every process checks before each call. In front of all this, an in-process pacer spreads this
 * process's own calls evenly. A call that gives up (its signal aborted) frees its chat key; the
 * slot it waited for stays free for the next call.
 *
 * Keys expire in milliseconds (`SET … PX`), in small Lua scripts. rate-limiter-flexible's
 * `RateLimiterRedis`, used before, rounds durations down to whole seconds (and `block` with less
 * than a second leaves a key with no expiry), so it cannot hold a slot until a window after the
 * call was counted.
 */
export function redisRateLimiter(options: RedisRateLimiterOptions): RateLimiterFactory {
  return (settings) => new RedisTelegramRateLimiter(options, settings);
}

/**
 * Holds KEYS[1] for ARGV[1] (a token) for ARGV[2] ms if free: {1} when taken, else {0, ms left, 1
 * if its call is still in flight}. A hold whose call was answered reads `answered:<token>`.
 */
const TAKE = `if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, 0, 0} end
local left = redis.call('pttl', KEYS[1])
local inFlight = 1
if string.sub(redis.call('get', KEYS[1]) or '', 1, 9) == 'answered:' then inFlight = 0 end
return {0, left, inFlight}`;

/**
 * If ARGV[1] still holds KEYS[1] (in flight, or answered): keeps it ARGV[2] ms from now as
 * answered, or frees it (ARGV[2] <= 0). Its owner may settle it again (to hold it longer).
 */
const SETTLE = `local held = redis.call('get', KEYS[1])
if held ~= ARGV[1] and held ~= 'answered:' .. ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then redis.call('set', KEYS[1], 'answered:' .. ARGV[1], 'PX', ARGV[2]) else redis.call('del', KEYS[1]) end
return 1`;

/** The next call number; the counter is dropped after an hour without calls. */
const NEXT_TICKET = `local ticket = redis.call('incr', KEYS[1])
redis.call('pexpire', KEYS[1], ARGV[1])
return ticket`;

/** Sets the pause key unless a longer pause is already in force. */
const EXTEND_PAUSE = `local left = redis.call('pttl', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('set', KEYS[1], '1', 'PX', ARGV[1]) end
return 1`;

const takeAnswer = z.tuple([z.number(), z.number(), z.number()]);
const TICKET_IDLE_MS = 3_600_000;
/** How often a waiting call looks again at a slot whose call is still in flight (its end is not known yet). */
const IN_FLIGHT_POLL_MS = 20;

/** A slot this process's call held, answered, and still held until a window after its count. */
interface AnsweredSlot {
  readonly key: string;
  readonly token: string;
  readonly sentAt: number;
  readonly answeredAt: number;
  countedAt: number;
}

class RedisTelegramRateLimiter implements TelegramRateLimiter {
  private readonly local: TelegramRateLimiter;
  private readonly prefix: string;
  private readonly slotCount: number;
  private readonly windowMs: number;
  private readonly roundTrips = new RoundTrips();
  /** This process's answered slots still held: counted again when a faster round trip shows up. */
  private answeredSlots: AnsweredSlot[] = [];
  /** Names this process's holds: a hold is only settled by the call that took it. */
  private readonly owner = randomUUID();
  private calls = 0;

  constructor(
    private readonly options: RedisRateLimiterOptions,
    private readonly settings: RateLimiterSettings,
  ) {
    this.local = createMemoryRateLimiter(settings);
    this.prefix = options.keyPrefix ?? `broadcastkit:telegram:${settings.botId}`;
    this.slotCount = Math.max(1, Math.floor(overallPerSecond(settings)));
    this.windowMs = 1000 + settings.limits.marginMs + WINDOW_SLACK_MS;
  }

  /**
   * The chat first, then the overall slot, taken last so the call leaves right after it. The
   * chat's gap runs from the answer, so waiting for a slot cannot bring two messages to one chat
   * closer than their gap.
   */
  async acquire(chatId: ChatId, options: AcquireOptions = {}): Promise<Turn> {
    const { signal } = options;
    // The local pacer only spreads this process's calls evenly; the shared slots count them. Its
    // books are closed at once, or calls waiting here for a shared slot would count as in flight
    // and hold this process's later calls back a second time.
    const local = await this.local.acquire(chatId, options);
    if (local.type === "aborted") return local;
    local.answered();
    const token = `${this.owner}:${++this.calls}`;
    const chatKey = `${this.prefix}:chat:${chatId}`;
    const chatGap = Math.ceil(chatGapMs(this.settings.limits, chatId));
    if (!(await this.take(chatKey, token, this.settings.timeoutMs + chatGap, false, signal))) {
      return { type: "aborted" };
    }
    let slotKey: string | undefined;
    try {
      // A ticket per call, not per attempt: calls waiting for a slot queue on it in ticket order.
      const ticket = z
        .number()
        .parse(await this.options.redis.eval(NEXT_TICKET, 1, this.key("tickets"), TICKET_IDLE_MS));
      slotKey = this.key(`slot:${ticket % this.slotCount}`);
      if (!(await this.take(slotKey, token, this.settings.timeoutMs + this.windowMs, true, signal)))
        slotKey = undefined;
    } finally {
      // Gave up (or Redis failed) after the chat was taken: free it for the chat's next message.
      if (slotKey === undefined) this.settle([[chatKey, 0]], token);
    }
    if (slotKey === undefined) return { type: "aborted" };
    const slot = slotKey;
    const sentAt = this.now();
    return {
      type: "acquired",
      answered: () => {
        const now = this.now();
        const before = this.roundTrips.fastest();
        this.roundTrips.add(now - sentAt);
        const fastest = this.roundTrips.fastest();
        const answered = {
          key: slot,
          token,
          sentAt,
          answeredAt: now,
          countedAt: countedAt(sentAt, now, fastest),
        };
        this.settle(
          [
            [slot, this.heldForMs(answered, now)],
            [chatKey, chatGap],
          ],
          token,
        );
        this.answeredSlots = this.answeredSlots.filter((held) => this.heldForMs(held, now) > 0);
        if (fastest < before) this.recount(fastest, now);
        this.answeredSlots.push(answered);
      },
    };
  }

  /** How much longer a slot stays held: until a window after its call was counted. */
  private heldForMs(slot: AnsweredSlot, now: number): number {
    return Math.ceil(slot.countedAt + this.windowMs - now);
  }

  /** A faster round trip showed up: this process's answered calls may have reached Telegram later than counted. */
  private recount(fastest: number, now: number): void {
    for (const held of this.answeredSlots) {
      const later = countedAt(held.sentAt, held.answeredAt, fastest);
      if (later <= held.countedAt) continue;
      held.countedAt = later;
      this.settle([[held.key, this.heldForMs(held, now)]], held.token);
    }
  }

  async pause(ms: number): Promise<void> {
    const wholeMs = Math.max(1, Math.ceil(ms));
    await this.local.pause(wholeMs);
    await this.options.redis.eval(EXTEND_PAUSE, 1, this.key("pause"), String(wholeMs));
  }

  private key(name: string): string {
    return `${this.prefix}:${name}`;
  }

  private now(): number {
    return this.settings.clock.now().getTime();
  }

  /** Waits out a 429 pause set by any process; false when the signal aborted first. */
  private async waitForPause(signal: AbortSignal | undefined): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      const pausedMs = await this.options.redis.pttl(this.key("pause"));
      if (pausedMs <= 0) return true;
      await this.local.pause(pausedMs);
      await this.settings.sleep(pausedMs, signal);
    }
  }

  /** Takes `key` for `token` for `holdMs`, waiting while another call (in any process) holds it; false when the signal aborted first. */
  private async take(
    key: string,
    token: string,
    holdMs: number,
    waitsForPause: boolean,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      if (waitsForPause && !(await this.waitForPause(signal))) return false;
      const [taken, leftMs, inFlight] = takeAnswer.parse(
        await this.options.redis.eval(TAKE, 1, key, token, String(Math.ceil(holdMs))),
      );
      if (taken === 1) return true;
      // A held slot's expiry is only its timeout while its call is in flight: look again soon.
      const wait =
        leftMs < 0 ? IN_FLIGHT_POLL_MS : inFlight === 1 ? Math.min(IN_FLIGHT_POLL_MS, leftMs) : leftMs;
      await this.settings.sleep(Math.max(1, wait), signal);
    }
  }

  /** Best effort: a hold not settled expires by itself (after the call's timeout). */
  private settle(holds: ReadonlyArray<readonly [key: string, ms: number]>, token: string): void {
    Promise.all(holds.map(([key, ms]) => this.options.redis.eval(SETTLE, 1, key, token, String(ms)))).catch(
      (error: unknown) => {
        this.settings.logger.warn(
          { error: error instanceof Error ? error.message : String(error) },
          "telegram rate limiter could not settle a slot",
        );
      },
    );
  }
}

import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createTelegramSender,
  redisRateLimiter,
  TELEGRAM_DEFAULT_LIMITS,
} from "../../../src/adapters/telegram/index.js";
import { WINDOW_SLACK_MS } from "../../../src/adapters/telegram/memory-rate-limiter.js";
import { realSleep } from "../../../src/adapters/telegram/rate-limiter.js";
import { silentLogger, systemClock } from "../../../src/service/defaults.js";
import { botAnswers, closedPortUrl, createFakeBotApi } from "../../../src/testing/fake-bot-api.js";
import { createManualClock } from "../../../src/testing/manual-clock.js";
import { gapsOf, message, mostInAnyWindow, recordingLogger, TOKEN } from "./support.js";

/**
 * Two senders built on one Redis and one key prefix stand for two processes sending for the same
 * bot. A Redis that is not there fails these tests: they never skip.
 */
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = `broadcastkit-test:telegram:${randomUUID()}`;

const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
const api = createFakeBotApi();
let apiRoot = "";
let run = 0;

beforeAll(async () => {
  await redis.connect();
  apiRoot = (await api.start()).url;
});
afterAll(async () => {
  const keys = await redis.keys(`${PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await api.close();
});
beforeEach(() => {
  api.reset();
  run++;
});

/** Two "processes" sharing a fresh key prefix, so tests do not see each other's counters. */
function twoProcesses(limits: Partial<typeof TELEGRAM_DEFAULT_LIMITS> = {}, root = apiRoot) {
  const rateLimiter = redisRateLimiter({ redis, keyPrefix: `${PREFIX}:${run}` });
  const make = () => createTelegramSender({ token: TOKEN, apiRoot: root, rateLimiter, limits });
  return [make(), make()] as const;
}

describe("redisRateLimiter: limits shared by every process", () => {
  it("pauses the other process too after a 429, for retry_after", async () => {
    const [first, second] = twoProcesses();
    api.answerChat(1, botAnswers.tooManyRequests(1));
    expect(await first.send(message(1))).toMatchObject({ retryAfterMs: 1000 });
    expect(await second.send(message(2))).toMatchObject({ status: "delivered" });

    const [throttled, next] = api.requests;
    expect(throttled?.status).toBe(429);
    expect((next?.at.getTime() ?? 0) - (throttled?.at.getTime() ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it("shares the overall limit: both processes together stay within it in every one-second window", async () => {
    const [first, second] = twoProcesses({ perSecond: 10 });
    const sends = [first, second].flatMap((sender, p) =>
      Array.from({ length: 8 }, (_, i) => sender.send(message(100 * (p + 1) + i))),
    );
    const results = await Promise.all(sends);
    expect(results.every((r) => r.status === "delivered")).toBe(true);
    expect(api.requests).toHaveLength(16);
    expect(mostInAnyWindow(api.requests, 1000)).toBeLessThanOrEqual(10);
  });

  it("keeps every window within the limit at a 60 ms round trip, two processes with many callers each", async () => {
    const slow = createFakeBotApi({ latency: 60 });
    try {
      const senders = twoProcesses({ perSecond: 10 }, (await slow.start()).url);
      let next = 1;
      const until = Date.now() + 2_500;
      const callers = senders.flatMap((sender) =>
        Array.from({ length: 8 }, async () => {
          while (Date.now() < until)
            expect(await sender.send(message(next++))).toMatchObject({ status: "delivered" });
        }),
      );
      await Promise.all(callers);
      expect(slow.requests.length).toBeGreaterThan(10);
      expect(mostInAnyWindow(slow.requests, 1000)).toBeLessThanOrEqual(10);
    } finally {
      await slow.close();
    }
  });

  it("shares the per-chat limit: one message per second to a chat, across processes", async () => {
    const [first, second] = twoProcesses();
    await Promise.all([first.send(message(77)), second.send(message(77))]);
    expect(api.requests).toHaveLength(2);
    expect(gapsOf(api.requests)[0]).toBeGreaterThanOrEqual(1000);
  });

  it("answers not_sent at once for an already-aborted signal, without calling Telegram", async () => {
    const [first] = twoProcesses();
    const controller = new AbortController();
    controller.abort();
    expect(await first.send(message(1), { signal: controller.signal })).toEqual({ status: "not_sent" });
    expect(api.requests).toHaveLength(0);
  });

  it("gives up waiting for a shared slot when aborted, and frees its chat for the chat's next message", async () => {
    const [first, second] = twoProcesses({ perSecond: 1 });
    await first.send(message(1));
    const stop = new AbortController();
    const waiting = second.send(message(77), { signal: stop.signal });
    setTimeout(() => stop.abort(), 200);
    expect(await waiting).toEqual({ status: "not_sent" });
    // Had the aborted call kept chat 77, this one would wait out its hold (the 10 s timeout).
    const started = Date.now();
    expect(await first.send(message(77))).toMatchObject({ status: "delivered" });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(api.requests.map((r) => r.chatId)).toEqual([1, 77]);
  });

  it("holds a slot a window from the call's departure, or from a late answer minus the fastest round trip", async () => {
    const keyPrefix = `${PREFIX}:${run}`;
    const clock = createManualClock(Date.UTC(2025, 0, 1));
    const limiter = redisRateLimiter({ redis, keyPrefix })({
      // 1,000 slots: call number n takes slot n, and none waits.
      limits: { ...TELEGRAM_DEFAULT_LIMITS, perSecond: 1000 },
      paidBroadcast: false,
      clock,
      sleep: async (ms) => {
        clock.advance(ms);
      },
      logger: silentLogger,
      botId: "123456789",
      timeoutMs: 10_000,
    });
    /** Takes a turn, answers it `roundTripMs` later, and reads how much longer its slot stays held. */
    const heldAfterAnswer = async (chatId: number, roundTripMs: number) => {
      const turn = await limiter.acquire(chatId);
      if (turn.type !== "acquired") throw new Error("not acquired");
      clock.advance(roundTripMs);
      turn.answered();
      const slot = `${keyPrefix}:slot:${chatId}`;
      while (!(await redis.get(slot))?.startsWith("answered:"))
        await new Promise((resolve) => setTimeout(resolve, 5));
      return redis.pttl(slot);
    };
    // 16 answers at 100 ms make the fastest round trip known.
    for (let chat = 1; chat <= 16; chat++) await heldAfterAnswer(chat, 100);
    const window = 1000 + WINDOW_SLACK_MS;
    // Answered in 60 ms: counted from when it left, so held a window from then.
    const onTime = await heldAfterAnswer(17, 60);
    // Answered in 500 ms, 440 ms slower than the fastest: it may have reached Telegram that late.
    const late = await heldAfterAnswer(18, 500);
    // Redis time runs on while the test reads: allow it a little.
    expect(onTime).toBeGreaterThan(window - 60 - 50);
    expect(onTime).toBeLessThanOrEqual(window - 60);
    expect(late).toBeGreaterThan(window - 60 - 50);
    expect(late).toBeLessThanOrEqual(window - 60);
  });

  it("holds its answered slots longer when a faster round trip shows up: those calls may have reached Telegram later", async () => {
    const keyPrefix = `${PREFIX}:${run}`;
    const limiter = redisRateLimiter({ redis, keyPrefix })({
      limits: { ...TELEGRAM_DEFAULT_LIMITS, perSecond: 1000 },
      paidBroadcast: false,
      clock: systemClock,
      sleep: realSleep,
      logger: silentLogger,
      botId: "123456789",
      timeoutMs: 10_000,
    });
    /** When the slot's hold ends, by this clock; NaN once it has ended. */
    const expiryOf = async (slot: number) => {
      const left = await redis.pttl(`${keyPrefix}:slot:${slot}`);
      return left < 0 ? Number.NaN : Date.now() + left;
    };
    const answeredAfter = async (chatId: number, ms: number) => {
      const turn = await limiter.acquire(chatId);
      if (turn.type !== "acquired") throw new Error("not acquired");
      if (ms > 0) await realSleep(ms);
      turn.answered();
    };
    /** Waits (up to 300 ms, well within the hold) until the slot's call is answered and, if given, its hold ends later than `expiry`. */
    const settled = async (slot: number, expiry?: number) => {
      const deadline = Date.now() + 300;
      while (Date.now() < deadline) {
        const held = await redis.get(`${keyPrefix}:slot:${slot}`);
        if (held?.startsWith("answered:") && (expiry === undefined || (await expiryOf(slot)) > expiry + 10))
          return;
        await realSleep(5);
      }
    };
    // 16 answers after about 60 ms make the fastest round trip about 60 ms.
    for (let chat = 1; chat <= 16; chat++) await answeredAfter(chat, 60);
    await settled(16);
    const before = await expiryOf(16);
    // An instant answer: call 16's 60 ms may all have been on the way there.
    await answeredAfter(17, 0);
    await settled(16, before);
    expect((await expiryOf(16)) - before).toBeGreaterThanOrEqual(30);
  });

  it("keeps a longer pause when a shorter one comes after it", async () => {
    const keyPrefix = `${PREFIX}:${run}`;
    const limiter = redisRateLimiter({ redis, keyPrefix })({
      limits: TELEGRAM_DEFAULT_LIMITS,
      paidBroadcast: false,
      clock: systemClock,
      sleep: async () => {},
      logger: silentLogger,
      botId: "123456789",
      timeoutMs: 10_000,
    });
    await limiter.pause(60_000);
    await limiter.pause(100);
    expect(await redis.pttl(`${keyPrefix}:pause`)).toBeGreaterThan(50_000);
  });

  it("reports a transient failure and sends nothing when Redis cannot be reached", async () => {
    const port = new URL(await closedPortUrl()).port;
    const unreachable = new Redis({
      host: "127.0.0.1",
      port: Number(port),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    unreachable.on("error", () => {});
    const logger = recordingLogger();
    const sender = createTelegramSender({
      token: TOKEN,
      apiRoot,
      logger,
      rateLimiter: redisRateLimiter({ redis: unreachable, keyPrefix: `${PREFIX}:${run}` }),
    });
    expect(await sender.send(message(1))).toEqual({
      status: "failed",
      kind: "transient",
      description: "Rate limiter unavailable",
    });
    expect(api.requests).toHaveLength(0);
    expect(logger.lines.some((line) => line.level === "error")).toBe(true);
    unreachable.disconnect();
  });
});

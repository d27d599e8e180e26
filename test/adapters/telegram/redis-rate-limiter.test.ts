import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createTelegramSender,
  redisRateLimiter,
  TELEGRAM_DEFAULT_LIMITS,
} from "../../../src/adapters/telegram/index.js";
import { silentLogger, systemClock } from "../../../src/service/defaults.js";
import { botAnswers, closedPortUrl, createFakeBotApi } from "../../../src/testing/fake-bot-api.js";
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
function twoProcesses(limits: Partial<typeof TELEGRAM_DEFAULT_LIMITS> = {}) {
  const rateLimiter = redisRateLimiter({ redis, keyPrefix: `${PREFIX}:${run}` });
  const make = () => createTelegramSender({ token: TOKEN, apiRoot, rateLimiter, limits });
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

  it("shares the per-chat limit: one message per second to a chat, across processes", async () => {
    const [first, second] = twoProcesses();
    await Promise.all([first.send(message(77)), second.send(message(77))]);
    expect(api.requests).toHaveLength(2);
    expect(gapsOf(api.requests)[0]).toBeGreaterThanOrEqual(1000);
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

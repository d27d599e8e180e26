/**
 * Pacing of the Telegram sender against the Bot API look-alike.
 *
 * 1. Real time, over HTTP on 127.0.0.1, at the default 30 messages/s, with many sends waiting at
 *    once: the achieved rate must reach 97 % of the limit, and no one-second window (wherever it
 *    starts, by arrival time at the look-alike) may hold more than 30.
 * 2. Simulated time, on a manual clock, paid broadcast at 1,000 messages/s for 60 s: 99 %, and
 *    again no window over.
 *
 * 3. Real time, two senders sharing limits through Redis (`REDIS_URL`, default
 *    redis://127.0.0.1:6379) as two processes would, at 30 messages/s together: same bars as 1.
 *
 * `BENCH_PACING_SECONDS` shortens the real-time runs (default 20). Exits 1 when a bar is missed.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createTelegramSender, redisRateLimiter } from "../src/adapters/telegram/index.js";
import type { MessageSender } from "../src/ports/sender.js";
import { createFakeBotApi, type RecordedBotRequest } from "../src/testing/fake-bot-api.js";
import { createManualClock } from "../src/testing/manual-clock.js";

const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";
const REAL_SECONDS = Number(process.env.BENCH_PACING_SECONDS ?? 20);
const SIMULATED_SECONDS = 60;
const CONCURRENCY = 64;

interface Figures {
  readonly label: string;
  readonly limit: number;
  readonly seconds: number;
  readonly sent: number;
  readonly rate: number;
  readonly share: number;
  readonly busiestWindow: number;
  readonly windowsOver: number;
  readonly bar: number;
}

/** Requests arriving in [start, start + seconds): the achieved rate, and sliding one-second windows. */
function measure(
  label: string,
  requests: readonly RecordedBotRequest[],
  start: number,
  seconds: number,
  limit: number,
  bar: number,
): Figures {
  const end = start + seconds * 1000;
  const times = requests
    .map((r) => r.at.getTime())
    .filter((t) => t >= start && t < end)
    .sort((a, b) => a - b);
  let busiestWindow = 0;
  let windowsOver = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while ((times[last] ?? 0) - (times[first] ?? 0) >= 1000) first++;
    const inWindow = last - first + 1;
    busiestWindow = Math.max(busiestWindow, inWindow);
    if (inWindow > limit) windowsOver++;
  }
  const rate = times.length / seconds;
  return {
    label,
    limit,
    seconds,
    sent: times.length,
    rate,
    share: rate / limit,
    busiestWindow,
    windowsOver,
    bar,
  };
}

/** Keeps `CONCURRENCY` sends waiting on each sender until the deadline; returns when all are done. */
async function sendUntil(senders: readonly MessageSender[], deadline: number): Promise<void> {
  let nextChat = 1;
  const worker = async (target: MessageSender) => {
    while (Date.now() < deadline) {
      const chatId = nextChat++;
      await target.send({
        chatId,
        text: "pacing",
        idempotencyKey: `b:1:r:${chatId}`,
        broadcastId: 1,
        recipientId: chatId,
      });
    }
  };
  await Promise.all(senders.flatMap((sender) => Array.from({ length: CONCURRENCY }, () => worker(sender))));
}

async function realTime(): Promise<Figures> {
  const api = createFakeBotApi();
  const { url } = await api.start();
  const sender = createTelegramSender({ token: TOKEN, apiRoot: url });
  const start = Date.now();
  await sendUntil([sender], start + REAL_SECONDS * 1000);
  await api.close();
  return measure("real time, HTTP, 30/s", api.requests, start, REAL_SECONDS, 30, 0.97);
}

async function sharedThroughRedis(): Promise<Figures> {
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
  const keyPrefix = `broadcastkit-bench:telegram:${randomUUID()}`;
  const api = createFakeBotApi();
  const { url } = await api.start();
  const rateLimiter = redisRateLimiter({ redis, keyPrefix });
  const senders = [1, 2].map(() => createTelegramSender({ token: TOKEN, apiRoot: url, rateLimiter }));
  const start = Date.now();
  try {
    await sendUntil(senders, start + REAL_SECONDS * 1000);
  } finally {
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await api.close();
  }
  return measure("two senders sharing Redis", api.requests, start, REAL_SECONDS, 30, 0.97);
}

async function simulatedPaid(): Promise<Figures> {
  const start = Date.UTC(2025, 0, 1);
  const clock = createManualClock(start);
  const api = createFakeBotApi({ clock });
  const sender = createTelegramSender({ token: TOKEN, fetch: api.fetch, clock, paidBroadcast: true });
  const end = start + SIMULATED_SECONDS * 1000;
  // One at a time: the sender waits by advancing the manual clock.
  for (let chatId = 1; clock.now().getTime() < end; chatId++) {
    await sender.send({
      chatId,
      text: "pacing",
      idempotencyKey: `b:1:r:${chatId}`,
      broadcastId: 1,
      recipientId: chatId,
    });
  }
  return measure("manual clock, paid, 1000/s", api.requests, start, SIMULATED_SECONDS, 1000, 0.99);
}

function report(f: Figures): boolean {
  const ok = f.share >= f.bar && f.windowsOver === 0;
  console.log(
    `${f.label.padEnd(28)} ${f.sent} messages in ${f.seconds} s = ${f.rate.toFixed(2)}/s ` +
      `(${(f.share * 100).toFixed(2)} % of ${f.limit}/s, bar ${(f.bar * 100).toFixed(0)} %); ` +
      `busiest one-second window ${f.busiestWindow}, windows over the limit ${f.windowsOver} ${ok ? "OK" : "FAIL"}`,
  );
  return ok;
}

const results = [await realTime(), await simulatedPaid(), await sharedThroughRedis()];
const allOk = results.map(report).every(Boolean);
process.exitCode = allOk ? 0 : 1;

/**
 * Pacing of the Telegram sender at real round trips. The Bot API look-alike runs in a child
 * process with a simulated round trip (`latency`) and stamps each call's arrival; callers drive
 * `createTelegramSender` directly, many at once, as a send worker with `concurrency` would.
 *
 * | run | callers | bar |
 * | 30/s, round trip 100 ± 30 ms, 20 s | 16 | ≥ 97 % of the limit |
 * | 30/s, round trip 300 ms, 20 s | 16 | ≥ 97 % |
 * | paid broadcast 1,000/s, round trip 100 ms, 10 s | 150 | ≥ 95 % |
 * | two processes sharing 30/s through Redis, 100 ± 30 ms, 20 s | 16 each | ≥ 97 % together |
 *
 * Every run: no one-second window (sliding, at the look-alike's arrival times, ramp-up included)
 * over the limit. The rate is measured after a one-second ramp-up. `BENCH_PACING_SECONDS` sets
 * the length of every run (default: as above); `REDIS_URL` the Redis (default
 * redis://127.0.0.1:6379). A run below its bar is marked, not fatal: benchmarks print figures.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createTelegramSender } from "../src/adapters/telegram/index.js";
import type { FakeLatency } from "../src/testing/fake-bot-api.js";
import { startFakeBotApiProcess } from "./support/fake-bot-api-process.js";
import { startSenderProcess } from "./support/sender-process.js";
import { countWindows, type WindowCount } from "./support/windows.js";

const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";
const RAMP_UP_MS = 1000;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const secondsOverride = process.env.BENCH_PACING_SECONDS;

interface Run {
  readonly label: string;
  readonly limit: number;
  readonly latency: FakeLatency;
  readonly seconds: number;
  readonly bar: number;
  /** Gets the senders ready; the returned function sends until `until` and resolves when the last call is answered. */
  readonly prepare: (apiRoot: string) => Promise<(until: number) => Promise<void>>;
}

/** `callers` loops on one sender in this process, each starting a send as soon as its last one is answered. */
function inProcess(callers: number, paidBroadcast: boolean): Run["prepare"] {
  return async (apiRoot) => {
    const sender = createTelegramSender({ token: TOKEN, apiRoot, paidBroadcast });
    return async (until) => {
      let next = 1;
      const caller = async () => {
        while (Date.now() < until) {
          const chatId = next++;
          await sender.send({
            chatId,
            text: "pacing",
            idempotencyKey: `broadcast:1:recipient:${chatId}`,
            broadcastId: 1,
            recipientId: chatId,
          });
        }
      };
      await Promise.all(Array.from({ length: callers }, caller));
    };
  };
}

/** Two sender processes sharing their limits through Redis, `callers` each. */
function twoProcessesThroughRedis(callers: number): Run["prepare"] {
  return async (apiRoot) => {
    const keyPrefix = `broadcastkit-bench:telegram:${randomUUID()}`;
    const processes = await Promise.all(
      [0, 1].map((p) =>
        startSenderProcess({
          apiRoot,
          token: TOKEN,
          concurrency: callers,
          redis: { url: REDIS_URL, keyPrefix },
          chatBase: 1 + p * 10_000_000,
        }),
      ),
    );
    return async (until) => {
      try {
        await Promise.all(processes.map((sender) => sender.run(until)));
      } finally {
        const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
        const keys = await redis.keys(`${keyPrefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
    };
  };
}

const secondsOr = (seconds: number) => (secondsOverride === undefined ? seconds : Number(secondsOverride));

const RUNS: readonly Run[] = [
  {
    label: "30/s, RTT 100 ± 30 ms, 16 callers",
    limit: 30,
    latency: { baseMs: 100, jitterMs: 30 },
    seconds: secondsOr(20),
    bar: 0.97,
    prepare: inProcess(16, false),
  },
  {
    label: "30/s, RTT 300 ms, 16 callers",
    limit: 30,
    latency: 300,
    seconds: secondsOr(20),
    bar: 0.97,
    prepare: inProcess(16, false),
  },
  {
    label: "paid 1000/s, RTT 100 ms, 150 callers",
    limit: 1000,
    latency: 100,
    seconds: secondsOr(10),
    bar: 0.95,
    prepare: inProcess(150, true),
  },
  {
    label: "2 processes via Redis, 30/s, RTT 100 ± 30 ms, 16 callers each",
    limit: 30,
    latency: { baseMs: 100, jitterMs: 30 },
    seconds: secondsOr(20),
    bar: 0.97,
    prepare: twoProcessesThroughRedis(16),
  },
];

async function measure(run: Run): Promise<WindowCount> {
  const api = await startFakeBotApiProcess({ latency: run.latency });
  try {
    const send = await run.prepare(api.url);
    const start = Date.now();
    const from = start + RAMP_UP_MS;
    const to = from + run.seconds * 1000;
    await send(to);
    return countWindows(await api.arrivals(), run.limit, { from, to });
  } finally {
    await api.close();
  }
}

function report(run: Run, count: WindowCount): boolean {
  const ok = count.share >= run.bar && count.windowsOver === 0;
  console.log(
    `${run.label.padEnd(62)} ${String(count.sent).padStart(6)} in ${count.seconds} s = ` +
      `${count.achievedPerSecond.toFixed(2)}/s (${(count.share * 100).toFixed(2)} % of ${run.limit}/s, ` +
      `bar ${(run.bar * 100).toFixed(0)} %); busiest window ${count.busiestWindow}, ` +
      `windows over ${count.windowsOver}${ok ? "" : " (below the bar)"}`,
  );
  return ok;
}

for (const run of RUNS) report(run, await measure(run));

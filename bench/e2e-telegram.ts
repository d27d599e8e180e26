/**
 * End to end, as a host runs it: `createBroadcastKit` (service + worker + scheduler), the real
 * `createTelegramSender`, and the Bot API look-alike in a child process answering after a simulated
 * round trip. One broadcast per run, big enough to outlast it; the run ends with a cancel.
 *
 * | run | worker | bar |
 * | free 30/s, round trip 100 ± 30 ms, 20 s | one process, defaults | ≥ 97 % of the limit |
 * | free 30/s, round trip 300 ms, 20 s | one process, defaults | ≥ 97 % |
 * | paid 1,000/s, round trip 100 ms, 10 s | one process, concurrency 150 | ≥ 95 % |
 * | free 30/s, 100 ± 30 ms, two worker processes sharing a SQLite file and the limit (Redis), 20 s | 2 × defaults | ≥ 97 % |
 *
 * Printed per run: the rate at the look-alike after a one-second ramp-up, the busiest one-second
 * window (sliding, ramp-up included) and how many windows went over the limit; progress staleness
 * (time from a send's answer to its count showing in `getProgress`, sampled every 20 ms); and how
 * many sends reached the look-alike after `cancel` answered, beside the sends in flight when it
 * was called. `BENCH_E2E_SECONDS` overrides every run's length.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { z } from "zod";
import { createFakeSender, createMemoryQueue, createMemoryStore } from "../src/adapters/memory/index.js";
import { createSqliteStore } from "../src/adapters/sqlite/index.js";
import { createTelegramSender } from "../src/adapters/telegram/index.js";
import {
  type BroadcastService,
  createBroadcastKit,
  createBroadcastService,
  type MessageSender,
  type NewRecipient,
  WORKER_DEFAULTS,
} from "../src/index.js";
import type { FakeLatency } from "../src/testing/fake-bot-api.js";
import { exited, forkTypeScript, nextMessage } from "./support/child-process.js";
import { startFakeBotApiProcess } from "./support/fake-bot-api-process.js";
import { countWindows, type WindowCount } from "./support/windows.js";

const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";
const RAMP_UP_MS = 1000;
const SAMPLE_MS = 20;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const secondsOr = (seconds: number) =>
  process.env.BENCH_E2E_SECONDS === undefined ? seconds : Number(process.env.BENCH_E2E_SECONDS);

interface Run {
  readonly label: string;
  readonly limit: number;
  readonly latency: FakeLatency;
  readonly seconds: number;
  readonly bar: number;
  readonly twoProcesses?: boolean;
  readonly paidBroadcast?: boolean;
  readonly concurrency?: number;
}

interface Measured {
  readonly count: WindowCount;
  /** Largest time from an answer to its count in `getProgress`; `null` when not measured here. */
  readonly stalenessMs: number | null;
  readonly afterCancel: number;
  /** Sends handed to the sender and not answered when `cancel` was called; `null` when not seen. */
  readonly inFlightAtCancel: number | null;
}

const recipientsFor = (count: number, chatBase = 1): NewRecipient[] =>
  Array.from({ length: count }, (_, i) => ({ recipientId: i + 1, chatId: chatBase + i }));

/** The sender, watched: when each call was answered, and how many are in flight. */
function watched(inner: MessageSender) {
  const answeredAt: number[] = [];
  let inFlight = 0;
  const sender: MessageSender = {
    async send(message, options) {
      inFlight++;
      try {
        const result = await inner.send(message, options);
        if (result.status === "delivered") answeredAt.push(Date.now());
        return result;
      } finally {
        inFlight--;
      }
    },
  };
  return { sender, answeredAt, inFlight: () => inFlight };
}

/** Samples `sentCount` every SAMPLE_MS until stopped. */
function sampleProgress(service: BroadcastService, id: number) {
  const samples: [at: number, sent: number][] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const progress = await service.getProgress(id);
      if (progress.isOk()) samples.push([Date.now(), progress.value.sentCount]);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** For the k-th answer, the first sample counting k sends; the worst delay over every answer. */
function worstStaleness(answeredAt: readonly number[], samples: readonly [number, number][]): number {
  let worst = 0;
  let sample = 0;
  const sorted = [...answeredAt].sort((a, b) => a - b);
  for (let k = 0; k < sorted.length; k++) {
    while (sample < samples.length && samples[sample]![1] < k + 1) sample++;
    const seen = samples[sample];
    if (seen === undefined) break;
    worst = Math.max(worst, seen[0] - sorted[k]!);
  }
  return worst;
}

async function oneProcess(run: Run, apiRoot: string, arrivals: () => Promise<number[]>): Promise<Measured> {
  const telegram = watched(
    createTelegramSender({ token: TOKEN, apiRoot, paidBroadcast: run.paidBroadcast ?? false }),
  );
  const kit = createBroadcastKit({
    store: createMemoryStore(),
    queue: createMemoryQueue({ autoRun: true }),
    sender: telegram.sender,
    worker: run.concurrency === undefined ? {} : { concurrency: run.concurrency },
  });
  await kit.start();
  const total = Math.ceil(run.limit * (run.seconds + 2) * 1.5);
  const created = (
    await kit.service.create({ message: { text: "Flash sale" }, recipients: recipientsFor(total) })
  )._unsafeUnwrap();
  const progress = sampleProgress(kit.service, created.id);
  const start = Date.now();
  (await kit.service.start(created.id))._unsafeUnwrap();
  const from = start + RAMP_UP_MS;
  const to = from + run.seconds * 1000;
  await new Promise((resolve) => setTimeout(resolve, to - Date.now()));

  const inFlightAtCancel = telegram.inFlight();
  (await kit.service.cancel(created.id))._unsafeUnwrap();
  const cancelAnswered = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await progress.stop();
  await kit.stop();
  const seen = await arrivals();
  return {
    count: countWindows(seen, run.limit, { from, to }),
    stalenessMs: worstStaleness(telegram.answeredAt, progress.samples),
    afterCancel: seen.filter((at) => at > cancelAnswered).length,
    inFlightAtCancel,
  };
}

const workerReady = z.object({ type: z.literal("ready") });

/** Two processes, each a kit on one SQLite file sharing the bot's limit through Redis. */
async function twoProcesses(run: Run, apiRoot: string, arrivals: () => Promise<number[]>): Promise<Measured> {
  const directory = mkdtempSync(join(tmpdir(), "bk-e2e-"));
  const filename = join(directory, "broadcasts.db");
  const keyPrefix = `broadcastkit-bench:e2e:${randomUUID()}`;
  const store = createSqliteStore({ filename });
  // This process only creates, watches and cancels: its queue is never run, as an admin API's.
  const service = createBroadcastService({ store, queue: createMemoryQueue() });
  const total = Math.ceil(run.limit * (run.seconds + 2) * 1.5);
  const created = (
    await service.create({ message: { text: "Flash sale" }, recipients: recipientsFor(total) })
  )._unsafeUnwrap();
  const workers = [0, 1].map(() =>
    forkTypeScript(new URL("./support/e2e-worker-child.ts", import.meta.url), [
      JSON.stringify({ filename, apiRoot, token: TOKEN, redisUrl: REDIS_URL, keyPrefix }),
    ]),
  );
  try {
    await Promise.all(workers.map((child) => nextMessage(child, workerReady)));
    const progress = sampleProgress(service, created.id);
    const start = Date.now();
    (await service.start(created.id))._unsafeUnwrap();
    // Their scheduler ticks every 200 ms: the sending broadcast nobody holds is theirs at once.
    const from = start + RAMP_UP_MS;
    const to = from + run.seconds * 1000;
    await new Promise((resolve) => setTimeout(resolve, to - Date.now()));
    (await service.cancel(created.id))._unsafeUnwrap();
    const cancelAnswered = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await progress.stop();
    const seen = await arrivals();
    return {
      count: countWindows(seen, run.limit, { from, to }),
      stalenessMs: null,
      afterCancel: seen.filter((at) => at > cancelAnswered).length,
      inFlightAtCancel: null,
    };
  } finally {
    for (const child of workers) child.kill("SIGTERM");
    await Promise.all(workers.map(exited));
    await store.close();
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    rmSync(directory, { recursive: true, force: true });
  }
}

const RUNS: readonly Run[] = [
  {
    label: "30/s, RTT 100 ± 30 ms",
    limit: 30,
    latency: { baseMs: 100, jitterMs: 30 },
    seconds: secondsOr(20),
    bar: 0.97,
  },
  { label: "30/s, RTT 300 ms", limit: 30, latency: 300, seconds: secondsOr(20), bar: 0.97 },
  {
    label: "paid 1000/s, RTT 100 ms, concurrency 150",
    limit: 1000,
    latency: 100,
    seconds: secondsOr(10),
    bar: 0.95,
    paidBroadcast: true,
    concurrency: 150,
  },
  {
    label: "2 worker processes (SQLite + Redis), 30/s, 100 ± 30 ms",
    limit: 30,
    latency: { baseMs: 100, jitterMs: 30 },
    seconds: secondsOr(20),
    bar: 0.97,
    twoProcesses: true,
  },
];

/** The worker's own cost with a sender that answers at once: the ceiling this machine sets. */
async function noPacingCeiling(): Promise<number> {
  const kit = createBroadcastKit({
    store: createMemoryStore(),
    queue: createMemoryQueue({ autoRun: true }),
    sender: createFakeSender({ record: false }),
    worker: { concurrency: 150 },
  });
  await kit.start();
  const created = (
    await kit.service.create({ message: { text: "x" }, recipients: recipientsFor(50_000) })
  )._unsafeUnwrap();
  const start = performance.now();
  (await kit.service.start(created.id))._unsafeUnwrap();
  while ((await kit.service.getProgress(created.id))._unsafeUnwrap().status === "sending") {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const rate = 50_000 / ((performance.now() - start) / 1000);
  await kit.stop();
  return rate;
}

console.log("\n## End to end over a simulated round trip (bench/e2e-telegram.ts)\n");
console.log(`worker defaults: ${JSON.stringify(WORKER_DEFAULTS)}\n`);
console.log(
  "| run | sent | rate | share (bar) | busiest window | windows over | staleness max | after cancel (in flight) |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const run of RUNS) {
  const api = await startFakeBotApiProcess({ latency: run.latency });
  try {
    const measured = await (run.twoProcesses ? twoProcesses : oneProcess)(run, api.url, () => api.arrivals());
    const { count } = measured;
    const met = count.share >= run.bar && count.windowsOver === 0;
    console.log(
      `| ${run.label} | ${count.sent} in ${count.seconds} s | ${count.achievedPerSecond.toFixed(2)}/s | ` +
        `${(count.share * 100).toFixed(1)} % (${(run.bar * 100).toFixed(0)} %)${met ? "" : " below"} | ` +
        `${count.busiestWindow} | ${count.windowsOver} | ` +
        `${measured.stalenessMs === null ? "–" : `${measured.stalenessMs} ms`} | ` +
        `${measured.afterCancel} (${measured.inFlightAtCancel ?? "–"}) |`,
    );
  } finally {
    await api.close();
  }
}
console.log(
  `\nworker alone (no network, no pacing, concurrency 150): ${Math.round(await noPacingCeiling())}/s`,
);

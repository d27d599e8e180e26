/**
 * The distributed path (issue 11): one broadcast of 200,000 recipients, no-op sender, on
 * PostgreSQL + BullMQ, sent by 1, 2 and 4 worker processes (`createBroadcastKit`, worker
 * defaults, one send job per process, `parallelism` = processes), against the design a team
 * would write instead: one BullMQ job per recipient, sent by the same no-op sender and written
 * nowhere (its best case), best of concurrency 50/100/200, in one process, on the same Redis
 * (over 50,000 jobs by default: a job's cost does not depend on how many wait behind it, and the
 * whole run stays within about five minutes).
 * Measured side by side, interleaved by round; the ratio is best broadcastkit over best BullMQ of
 * the same round (goal >= 5x). Then the progress read on PostgreSQL at 1,000,000 recipients.
 *
 * Timed: broadcastkit from `start` until its progress reads `sent` (polled every 20 ms); BullMQ from
 * its worker's start until its last job completed. Not timed: creating the broadcast, adding the
 * jobs, starting the processes.
 *
 *   BENCH_CLUSTER_RECIPIENTS     recipients per run (default 200,000)
 *   BENCH_CLUSTER_ROUNDS         rounds (default 2)
 *   BENCH_CLUSTER_PROCESSES      broadcastkit worker processes per run (default 1,2,4)
 *   BENCH_CLUSTER_CONCURRENCY    BullMQ job-per-recipient concurrencies (default 50,100,200)
 *   BENCH_CLUSTER_BASELINE_JOBS  jobs per BullMQ job-per-recipient run (default 50,000)
 *   BENCH_CLUSTER_PROGRESS_AT    recipients of the progress-read broadcast (default 1,000,000; 0 skips)
 *   DATABASE_URL, REDIS_URL      the servers (defaults: the local ones the tests use)
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { Queue } from "bullmq";
import pg from "pg";
import { z } from "zod";
import { createBullmqQueue } from "../src/adapters/bullmq/index.js";
import { createPostgresStore } from "../src/adapters/postgres/index.js";
import { type BroadcastService, createBroadcastService, type NewRecipient } from "../src/index.js";
import { exited, forkTypeScript, nextMessage } from "./support/child-process.js";

const env = process.env;
const list = (value: string) => value.split(",").map(Number);
const total = Number(env.BENCH_CLUSTER_RECIPIENTS ?? 200_000);
const rounds = Number(env.BENCH_CLUSTER_ROUNDS ?? 2);
const processCounts = list(env.BENCH_CLUSTER_PROCESSES ?? "1,2,4");
const concurrencies = list(env.BENCH_CLUSTER_CONCURRENCY ?? "50,100,200");
const baselineJobs = Math.min(total, Number(env.BENCH_CLUSTER_BASELINE_JOBS ?? 50_000));
const progressAt = Number(env.BENCH_CLUSTER_PROGRESS_AT ?? 1_000_000);
const databaseUrl = env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = new URL(env.REDIS_URL ?? "redis://127.0.0.1:6379");
const connection = {
  host: redisUrl.hostname,
  port: Number(redisUrl.port || 6379),
  db: Number(redisUrl.pathname.slice(1) || 0),
  ...(redisUrl.password === "" ? {} : { password: decodeURIComponent(redisUrl.password) }),
};
const bullConnection = { ...connection, maxRetriesPerRequest: null };
const runId = randomBytes(4).toString("hex");
const schema = `bk_bench_cluster_${runId}`;
const POLL_MS = 20;

const number = (value: number) => Math.round(value).toLocaleString("en-US");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ready = z.object({ type: z.literal("ready") });
const done = z.object({ type: z.literal("done"), ms: z.number() });

function* recipients(count: number): Generator<NewRecipient> {
  for (let i = 1; i <= count; i++) yield { recipientId: i, chatId: 100_000_000 + i };
}

const store = createPostgresStore({ connectionString: databaseUrl, schema });
let queueCount = 0;
const nextQueueName = () => `bk-bench-cluster-${runId}-${++queueCount}`;

/** Stops the children (SIGTERM) and waits for them. */
async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  await Promise.all(children.map(exited));
}

/** One broadcast sent by `processes` worker processes; recipients per second. */
async function broadcastkitRun(processes: number): Promise<number> {
  const queueName = nextQueueName();
  const queue = createBullmqQueue({ connection: bullConnection, queueName });
  const service = createBroadcastService({ store, queue });
  // The processes start while the broadcast is created: they wait for its jobs.
  const children = Array.from({ length: processes }, () =>
    forkTypeScript(new URL("./support/cluster-worker-child.ts", import.meta.url), [
      JSON.stringify({ databaseUrl, schema, queueName, connection }),
    ]),
  );
  const allReady = Promise.all(children.map((child) => nextMessage(child, ready)));
  allReady.catch(() => {}); // awaited below; a child that died first fails the run there
  try {
    const created = await service.create({
      message: { text: "Flash sale: 20% off today" },
      recipients: recipients(total),
    });
    if (created.isErr()) throw new Error(`create failed: ${created.error.type}`);
    const id = created.value.id;
    await allReady;
    const startedAt = performance.now();
    const started = await service.start(id, { parallelism: processes });
    if (started.isErr()) throw new Error(`start failed: ${started.error.type}`);
    for (;;) {
      const progress = await service.getProgress(id);
      if (progress.isErr()) throw new Error(`progress failed: ${progress.error.type}`);
      if (progress.value.status !== "sending") {
        if (progress.value.status !== "sent" || progress.value.sentCount !== total)
          throw new Error(`ended ${progress.value.status} with ${progress.value.sentCount}/${total} sent`);
        break;
      }
      await sleep(POLL_MS);
    }
    return total / ((performance.now() - startedAt) / 1000);
  } finally {
    await stopAll(children);
    await queue.bullQueue.obliterate({ force: true });
    await queue.close();
  }
}

/** One BullMQ job per recipient, processed by one process with `concurrency`; jobs per second. */
async function jobPerRecipientRun(concurrency: number): Promise<number> {
  const queueName = nextQueueName();
  const queue = new Queue(queueName, { connection: bullConnection });
  const chunk = 5_000;
  for (let from = 1; from <= baselineJobs; from += chunk) {
    const jobs = [];
    for (let i = from; i < Math.min(from + chunk, baselineJobs + 1); i++) {
      jobs.push({
        name: "send",
        data: { broadcastId: 1, recipientId: i, chatId: 100_000_000 + i, text: "Flash sale: 20% off today" },
        opts: { removeOnComplete: { count: 1000 }, removeOnFail: { count: 10_000 }, attempts: 4 },
      });
    }
    await queue.addBulk(jobs);
  }
  const child = forkTypeScript(new URL("./support/bullmq-per-recipient-child.ts", import.meta.url), [
    JSON.stringify({ queueName, count: baselineJobs, concurrency, connection }),
  ]);
  try {
    await nextMessage(child, ready);
    const finished = nextMessage(child, done);
    child.send({ type: "go" });
    const { ms } = await finished;
    return baselineJobs / (ms / 1000);
  } finally {
    await stopAll([child]);
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/** Mean time of one progress read (µs) of a broadcast, over 200 reads after 20 to warm up. */
async function progressReadMicros(service: BroadcastService, id: number): Promise<number> {
  for (let i = 0; i < 20; i++) await service.getProgress(id);
  const reads = 200;
  const startedAt = performance.now();
  for (let i = 0; i < reads; i++) {
    const progress = await service.getProgress(id);
    if (progress.isErr()) throw new Error(`progress failed: ${progress.error.type}`);
  }
  return ((performance.now() - startedAt) * 1000) / reads;
}

type Label = string;
const figures = new Map<Label, number[]>();
const record = (label: Label, rate: number) => figures.set(label, [...(figures.get(label) ?? []), rate]);
const libraryLabel = (processes: number) =>
  `broadcastkit, ${processes} process${processes === 1 ? "" : "es"}`;
const bullLabel = (concurrency: number) =>
  `BullMQ, a job per recipient, concurrency ${concurrency} (${number(baselineJobs)} jobs)`;
const ratios: number[] = [];

console.log(
  `\ncluster bench: ${number(total)} recipients, no-op sender, PostgreSQL + BullMQ on one Redis, ` +
    `${rounds} round(s) interleaved`,
);
const benchStart = performance.now();
try {
  for (let round = 1; round <= rounds; round++) {
    const library = processCounts.map((processes) => async () => {
      const rate = await broadcastkitRun(processes);
      record(libraryLabel(processes), rate);
      return { kind: "library" as const, rate, label: libraryLabel(processes) };
    });
    const bull = concurrencies.map((concurrency) => async () => {
      const rate = await jobPerRecipientRun(concurrency);
      record(bullLabel(concurrency), rate);
      return { kind: "bull" as const, rate, label: bullLabel(concurrency) };
    });
    // Alternating which design goes first, so neither always meets a warmer (or busier) machine.
    const order = round % 2 === 1 ? [...library, ...bull] : [...bull, ...library];
    const results: { kind: "library" | "bull"; rate: number; label: string }[] = [];
    for (const run of order) {
      const result = await run();
      console.log(`  round ${round}: ${result.label}: ${number(result.rate)}/s`);
      results.push(result);
    }
    const best = (kind: "library" | "bull") =>
      Math.max(...results.filter((r) => r.kind === kind).map((r) => r.rate));
    ratios.push(best("library") / best("bull"));
  }

  const rows = [...figures].map(
    ([label, rates]) => `| ${label} | ${rates.map((r) => `${number(r)}/s`).join(" | ")} |`,
  );
  console.log(
    [
      "",
      `| run (${number(total)} recipients) | ${Array.from({ length: rounds }, (_, i) => `round ${i + 1}`).join(" | ")} |`,
      `| --- |${" --- |".repeat(rounds)}`,
      ...rows,
      "",
      `broadcastkit / BullMQ job-per-recipient, best of each in the same round: ${ratios.map((r) => `${r.toFixed(2)}×`).join(", ")} (goal ≥ 5×)`,
      `This machine has ${availableParallelism()} cores, shared by PostgreSQL, Redis, every process above (and whatever else`,
      "runs on it): more worker processes add no CPU here; see docs/scaling.md for where the time goes.",
    ].join("\n"),
  );

  if (progressAt > 0) {
    // Nothing is started here: the queue only has to exist, under this run's own name.
    const queue = createBullmqQueue({ connection: bullConnection, queueName: nextQueueName() });
    const service = createBroadcastService({ store, queue });
    const createdAt = performance.now();
    const big = await service.create({ message: { text: "Flash sale" }, recipients: recipients(progressAt) });
    if (big.isErr()) throw new Error(`create failed: ${big.error.type}`);
    const createSeconds = (performance.now() - createdAt) / 1000;
    const small = await service.create({ message: { text: "Flash sale" }, recipients: recipients(1000) });
    if (small.isErr()) throw new Error(`create failed: ${small.error.type}`);
    const atBig = await progressReadMicros(service, big.value.id);
    const atSmall = await progressReadMicros(service, small.value.id);
    await queue.close();
    console.log(
      `progress read on PostgreSQL: ${number(atBig)} µs at ${number(progressAt)} recipients, ` +
        `${number(atSmall)} µs at 1,000 (O(1): one row of counters; created in ${createSeconds.toFixed(1)} s)`,
    );
  }
  console.log(`cluster bench took ${((performance.now() - benchStart) / 1000).toFixed(0)} s`);
} finally {
  await store.close();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}

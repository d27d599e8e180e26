/**
 * The SQL stores at scale, with the worker's DEFAULT settings, each beside a comparison measured
 * in the same run:
 *
 * - SQLite: a 1,000,000-recipient broadcast sent end to end by one worker (created from a lazy
 *   source, sent through `createSendWorker` with a no-op sender, settled), against a raw loop over
 *   another broadcast of the same size in the same file: read a chunk of rows by primary key, one
 *   UPDATE per row, one commit per chunk, no library logic. Each side runs twice (kit, raw, raw,
 *   kit: the machine's load drifts) and the better run of each is compared. Target: >= 0.8x.
 * - PostgreSQL: a 200,000-recipient broadcast sent by 4 workers, against BullMQ with one job per
 *   recipient on the same Redis the library's queue adapter uses (a no-op processor sending through
 *   the same fake sender, completed jobs removed; its best of concurrency 50/100/200/300; enqueueing
 *   not counted). Target: >= 5x. Also 1 and 2 workers: throughput must rise from 1 to 2.
 * - Progress reads at that size, against `COUNT(*) ... GROUP BY state`.
 *
 * - A batch-size sweep: the same send with `batchSize` 100, 250, 500, 1000 and 2000 (SQLite 1 worker,
 *   PostgreSQL 4 workers, smaller broadcasts, each setting run twice in alternating order, the
 *   better run kept), to show where the default stands. `BENCH_SWEEP=0` skips it;
 *   `BENCH_SWEEP_RECIPIENTS` and `BENCH_SWEEP_PG_RECIPIENTS` size it.
 *
 * Each PostgreSQL send also prints the CPU it used (from /proc): the bench process (the workers),
 * the server processes of its own connections, and the whole machine, as shares of one core.
 *
 * `BENCH_TIMINGS=1` prints client-side time per statement (PostgreSQL) or per store call (SQLite).
 * `BENCH_RECIPIENTS` (SQLite), `BENCH_PG_RECIPIENTS`, `BENCH_BULLMQ_JOBS` shrink the runs;
 * `BENCH_STORES=sqlite|postgres` runs one; `BENCH_BATCH` overrides the worker's batch size (to
 * compare a setting with the default). `DATABASE_URL` and `REDIS_URL` name the servers.
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Queue, Worker } from "bullmq";
import pg from "pg";
import { createFakeSender, createMemoryQueue } from "../src/adapters/memory/index.js";
import { createPostgresStore } from "../src/adapters/postgres/index.js";
import { createSqliteStore } from "../src/adapters/sqlite/index.js";
import {
  type BroadcastStore,
  createBroadcastService,
  createSendWorker,
  type NewRecipient,
  WORKER_DEFAULTS,
} from "../src/index.js";
import { BENCH_APPLICATION, type CpuShares, formatCpu, measureCpu } from "./support/cpu.js";
import { Timings, timePool, timeStore, timingsWanted } from "./support/timings.js";

const sqliteTotal = Number(process.env.BENCH_RECIPIENTS ?? 1_000_000);
const postgresTotal = Number(process.env.BENCH_PG_RECIPIENTS ?? 200_000);
const bullmqJobs = Number(process.env.BENCH_BULLMQ_JOBS ?? postgresTotal);
const batchOverride = process.env.BENCH_BATCH === undefined ? undefined : Number(process.env.BENCH_BATCH);
const sweepWanted = process.env.BENCH_SWEEP !== "0";
const sweepSizes = [100, 250, 500, 1000, 2000];
// SQLite sends 200,000 in under a second: too short a run to tell settings apart on a shared machine.
const sqliteSweepTotal = Number(process.env.BENCH_SWEEP_RECIPIENTS ?? 600_000);
const postgresSweepTotal = Number(process.env.BENCH_SWEEP_PG_RECIPIENTS ?? 100_000);
const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const redis = {
  host: redisUrl.hostname,
  port: Number(redisUrl.port || 6379),
  db: Number(redisUrl.pathname.replace("/", "") || "0"),
  ...(redisUrl.password === "" ? {} : { password: decodeURIComponent(redisUrl.password) }),
};

function* recipients(count: number): Generator<NewRecipient> {
  for (let i = 1; i <= count; i++) yield { recipientId: i, chatId: 100_000_000 + i };
}

const perSecond = (count: number, ms: number) => count / (ms / 1000);

const rate = (count: number, ms: number) => `${Math.round(perSecond(count, ms)).toLocaleString("en")}/s`;
const perRead = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(1)} ms`);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

interface EndToEndOptions {
  readonly timings?: Timings | undefined;
  /** The worker's batch size; the default (or `BENCH_BATCH`) when absent. */
  readonly batchSize?: number | undefined;
  /** Measures the CPU of the send phase, with the server processes of this pool's connections. */
  readonly cpuOf?: pg.Pool | undefined;
}

/** Creates a broadcast, starts it and runs `workers` send workers (defaults) until it is settled. */
async function endToEnd(
  store: BroadcastStore,
  total: number,
  workers: number,
  options: EndToEndOptions = {},
): Promise<{
  createMs: number;
  sendMs: number;
  id: number;
  cpu: CpuShares | null;
  /** The store's `recordOutcomes` calls during the send (timed only when asked or with CPU measured). */
  writes: { calls: number; ms: number };
}> {
  const { timings } = options;
  const batchSize = options.batchSize ?? batchOverride;
  const queue = createMemoryQueue();
  const service = createBroadcastService({ store, queue });
  const sender = createFakeSender({ record: false });
  // With CPU measured (PostgreSQL), the store's calls are timed too: how long one write takes
  // tells how fast one worker can go, its writes being one after the other.
  const calls = timings ?? (options.cpuOf === undefined ? undefined : new Timings());
  const sending = calls === undefined ? store : timeStore(store, calls);
  const pool = Array.from({ length: workers }, (_, i) =>
    createSendWorker({
      store: sending,
      queue,
      sender,
      workerId: `bench-${i}`,
      ...(batchSize === undefined ? {} : { batchSize }),
    }),
  );
  const createStart = performance.now();
  const created = (
    await service.create({ message: { text: "Flash sale: 20% off today" }, recipients: recipients(total) })
  )._unsafeUnwrap();
  const createMs = performance.now() - createStart;
  (await service.start(created.id))._unsafeUnwrap();
  timings?.reset();
  const cpu = options.cpuOf === undefined ? null : await measureCpu(options.cpuOf);
  const sendStart = performance.now();
  const runs = await Promise.all(pool.map((w) => w.handle({ broadcastId: created.id, onlyFailed: false })));
  const sendMs = performance.now() - sendStart;
  const cpuShares = cpu === null ? null : await cpu.stop();
  const writes = calls?.get("recordOutcomes") ?? { calls: 0, ms: 0 };
  for (const run of runs) if (run.isErr()) throw new Error(`worker failed: ${JSON.stringify(run.error)}`);
  const progress = (await service.getProgress(created.id))._unsafeUnwrap();
  if (progress.status !== "sent" || progress.sentCount !== total) {
    throw new Error(`broadcast ended ${progress.status} with ${progress.sentCount}/${total} sent`);
  }
  return { createMs, sendMs, id: created.id, cpu: cpuShares, writes };
}

/**
 * Recipients per second of a send at each batch size: every size twice, in one order then the
 * other (the machine's load drifts), keeping the better run of the two.
 */
async function sweep(
  store: BroadcastStore,
  total: number,
  workers: number,
  cpuOf?: pg.Pool,
): Promise<Map<number, number>> {
  const best = new Map<number, number>();
  for (const order of [sweepSizes, [...sweepSizes].reverse()]) {
    for (const batchSize of order) {
      const run = await endToEnd(store, total, workers, { batchSize, cpuOf });
      best.set(batchSize, Math.max(best.get(batchSize) ?? 0, perSecond(total, run.sendMs)));
    }
  }
  return best;
}

async function timeReads(reads: number, read: () => Promise<unknown> | unknown): Promise<number> {
  await read();
  const start = performance.now();
  for (let i = 0; i < reads; i++) await read();
  return (performance.now() - start) / reads;
}

const draft = {
  message: { text: "raw" },
  status: "draft" as const,
  scheduledAt: null,
  createdBy: null,
  errorThreshold: null,
  createdAt: new Date(),
};

interface SqliteFigures {
  createMs: number;
  sendMs: number;
  rawMs: number;
  readMs: number;
  countMs: number;
  swept: Map<number, number> | null;
}

async function sqlite(): Promise<SqliteFigures> {
  const directory = mkdtempSync(join(tmpdir(), "bk-bench-"));
  const filename = join(directory, "bench.db");
  const store = createSqliteStore({ filename });
  const timings = timingsWanted ? new Timings() : undefined;
  const raw = new Database(filename);
  try {
    await store.migrate();
    raw.pragma("busy_timeout = 5000");
    raw.pragma("synchronous = NORMAL");
    raw.pragma("cache_size = -65536");
    const chunk = raw.prepare(
      "SELECT seq, chat_id FROM broadcast_recipients WHERE broadcast_id = ? AND seq >= ? AND seq < ? ORDER BY seq",
    );
    const markSent = raw.prepare(
      "UPDATE broadcast_recipients SET state = 'sent', attempts = 1, message_id = ? WHERE broadcast_id = ? AND seq = ?",
    );
    const loop = raw.transaction((id: number, from: number) => {
      const rows = chunk.all(id, from, from + 1000) as { seq: number; chat_id: number }[];
      for (const row of rows) markSent.run(String(row.chat_id), id, row.seq);
    });
    /** The raw loop over a broadcast of its own: the time of the loop alone. */
    const rawLoop = async () => {
      const other = await store.createBroadcast(draft, recipients(sqliteTotal));
      const start = performance.now();
      for (let from = 0; from < sqliteTotal; from += 1000) loop(other.id, from);
      return { ms: performance.now() - start };
    };
    // Each side twice, in the order kit, raw, raw, kit, and the better run of each kept: the
    // machine's load drifts over a run, and one pass of each compared luck as much as code.
    const first = await endToEnd(store, sqliteTotal, 1, { timings });
    timings?.print(`SQLite, ${sqliteTotal.toLocaleString("en")} recipients, 1 worker: time per store call`);
    const raws = [await rawLoop(), await rawLoop()];
    const second = await endToEnd(store, sqliteTotal, 1);
    const sendMs = Math.min(first.sendMs, second.sendMs);
    const rawMs = Math.min(...raws.map((r) => r.ms));
    const readMs = await timeReads(10_000, () => store.getBroadcast(first.id));
    const countByState = raw.prepare(
      "SELECT state, count(*) AS n FROM broadcast_recipients WHERE broadcast_id = ? GROUP BY state",
    );
    const countMs = await timeReads(5, () => countByState.all(first.id));
    const swept = sweepWanted ? await sweep(store, sqliteSweepTotal, 1) : null;
    const createMs = first.createMs;
    return { createMs, sendMs, rawMs, readMs, countMs, swept };
  } finally {
    raw.close();
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

/** BullMQ, one job per recipient: the processor sends through the same no-op sender. */
async function bullmq(concurrency: number): Promise<{ enqueueMs: number; processMs: number }> {
  const name = `bk-bench-${process.pid}-${randomBytes(3).toString("hex")}`;
  const queue = new Queue(name, { connection: redis });
  const sender = createFakeSender({ record: false });
  try {
    const enqueueStart = performance.now();
    for (let from = 1; from <= bullmqJobs; from += 1000) {
      const jobs = [];
      for (let i = from; i < Math.min(from + 1000, bullmqJobs + 1); i++) {
        jobs.push({
          name: "send",
          data: { broadcastId: 1, recipientId: i, chatId: 100_000_000 + i },
          opts: { removeOnComplete: true, removeOnFail: 1000, attempts: 3 },
        });
      }
      await queue.addBulk(jobs);
    }
    const enqueueMs = performance.now() - enqueueStart;
    let completed = 0;
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const processStart = performance.now();
    const worker = new Worker(
      name,
      async (job) => {
        const { broadcastId, recipientId, chatId } = job.data as {
          broadcastId: number;
          recipientId: number;
          chatId: number;
        };
        const sent = await sender.send({
          chatId,
          text: "Flash sale: 20% off today",
          idempotencyKey: `${broadcastId}:${recipientId}`,
          broadcastId,
          recipientId,
        });
        return sent.status === "delivered" ? sent.messageId : null;
      },
      { connection: redis, concurrency },
    );
    worker.on("completed", () => {
      completed += 1;
      if (completed === bullmqJobs) done();
    });
    await finished;
    const processMs = performance.now() - processStart;
    await worker.close();
    return { enqueueMs, processMs };
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

interface PostgresFigures {
  sendMs: Map<number, number>;
  cpu: Map<number, CpuShares | null>;
  writes: Map<number, { calls: number; ms: number }>;
  swept: Map<number, number> | null;
  createMs: number;
  readMs: number;
  countMs: number;
  bullmq: Map<number, { enqueueMs: number; processMs: number }>;
}

async function postgres(): Promise<PostgresFigures> {
  const schema = `bk_bench_${process.pid}_${randomBytes(4).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 12, application_name: BENCH_APPLICATION });
  const timings = timingsWanted ? new Timings() : undefined;
  if (timings !== undefined) timePool(pool, timings);
  const store = createPostgresStore({ pool, schema });
  const sendMs = new Map<number, number>();
  const cpu = new Map<number, CpuShares | null>();
  const writes = new Map<number, { calls: number; ms: number }>();
  try {
    let createMs = 0;
    let lastId = 0;
    for (const workers of [1, 2, 4]) {
      const run = await endToEnd(store, postgresTotal, workers, { timings, cpuOf: pool });
      timings?.print(
        `PostgreSQL, ${postgresTotal.toLocaleString("en")} recipients, ${workers} worker(s): client-side time per statement`,
      );
      sendMs.set(workers, run.sendMs);
      cpu.set(workers, run.cpu);
      writes.set(workers, run.writes);
      createMs = run.createMs;
      lastId = run.id;
    }
    timings?.reset();
    const readMs = await timeReads(1_000, () => store.getBroadcast(lastId));
    const countMs = await timeReads(5, () =>
      pool.query(
        `SELECT state, count(*) AS n FROM "${schema}".broadcast_recipients WHERE broadcast_id = $1 GROUP BY state`,
        [lastId],
      ),
    );
    const queued = new Map<number, { enqueueMs: number; processMs: number }>();
    for (const concurrency of [50, 100, 200, 300]) queued.set(concurrency, await bullmq(concurrency));
    const swept = sweepWanted ? await sweep(store, postgresSweepTotal, 4) : null;
    return { sendMs, cpu, writes, swept, createMs, readMs, countMs, bullmq: queued };
  } finally {
    await store.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
}

/** `BENCH_STORES=sqlite` (or `postgres`) runs one of the two. */
const only = process.env.BENCH_STORES;

async function main() {
  const sqliteFigures = only === "postgres" ? null : await sqlite();
  const postgresFigures = only === "sqlite" ? null : await postgres();
  const batch = batchOverride ?? WORKER_DEFAULTS.batchSize;
  console.log("\n## SQL stores (bench/stores.ts)\n");
  console.log(
    `Worker defaults (batch ${batch}${batchOverride === undefined ? "" : ", set by BENCH_BATCH"}, flush every ` +
      `${WORKER_DEFAULTS.flushIntervalMs} ms, lease ${WORKER_DEFAULTS.leaseMs / 1000} s), no-op sender, ` +
      "send phase only (creation and enqueueing not counted); each comparison measured in the same run.\n",
  );
  console.log("| store | measure | broadcastkit | comparison in the same run | ratio | target |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  if (sqliteFigures !== null) {
    const f = sqliteFigures;
    const n = sqliteTotal.toLocaleString("en");
    console.log(`| SQLite | create ${n} from a lazy source | ${rate(sqliteTotal, f.createMs)} | | | |`);
    console.log(
      `| SQLite | send ${n}, 1 worker (better of 2) | ${rate(sqliteTotal, f.sendMs)} (${(f.sendMs / 1000).toFixed(1)} s) | ` +
        `${rate(sqliteTotal, f.rawMs)} raw loop (better of 2): one UPDATE per row, a commit per 1,000 | ` +
        `${ratio(f.rawMs, f.sendMs)} | ≥ 0.8× |`,
    );
    console.log(
      `| SQLite | progress read at ${n} | ${perRead(f.readMs)} | ${perRead(f.countMs)} COUNT(*) GROUP BY | | ≤ 1 ms |`,
    );
  }
  if (postgresFigures !== null) {
    const f = postgresFigures;
    const n = postgresTotal.toLocaleString("en");
    const [bestConcurrency, best] = [...f.bullmq].sort((a, b) => a[1].processMs - b[1].processMs)[0]!;
    const bullRates = [...f.bullmq].map(([c, r]) => `${c}: ${rate(bullmqJobs, r.processMs)}`).join(", ");
    const four = f.sendMs.get(4)!;
    console.log(`| PostgreSQL | create ${n} from a lazy source | ${rate(postgresTotal, f.createMs)} | | | |`);
    console.log(
      `| PostgreSQL | send ${n}, 4 workers | ${rate(postgresTotal, four)} | ${rate(bullmqJobs, best.processMs)} ` +
        `BullMQ job per recipient, best concurrency ${bestConcurrency} (${bullRates}) | ` +
        `${ratio(perSecond(postgresTotal, four), perSecond(bullmqJobs, best.processMs))} | ≥ 5× |`,
    );
    const one = f.sendMs.get(1)!;
    const two = f.sendMs.get(2)!;
    console.log(
      `| PostgreSQL | send ${n}, 1 → 2 → 4 workers | ${rate(postgresTotal, one)} → ${rate(postgresTotal, two)} → ` +
        `${rate(postgresTotal, four)} | | ${ratio(one, two)} from 1 to 2 | rises from 1 to 2 |`,
    );
    console.log(
      `| PostgreSQL | progress read at ${n} | ${perRead(f.readMs)} | ${perRead(f.countMs)} COUNT(*) GROUP BY | | O(1) |`,
    );
    console.log(
      "\nPostgreSQL send phase: CPU as shares of one core (from /proc), and the store's writes " +
        "(a worker's writes go one after the other, so it sends at most a batch per write):\n",
    );
    for (const [workers, shares] of f.cpu) {
      const sent = rate(postgresTotal, f.sendMs.get(workers)!);
      const w = f.writes.get(workers)!;
      const perWrite = w.calls === 0 ? 0 : w.ms / w.calls;
      const batch = batchOverride ?? WORKER_DEFAULTS.batchSize;
      // Each worker writes a batch at a time: this many workers cannot send faster than this.
      const ceiling = perWrite === 0 ? "" : ` (ceiling ${rate(workers * batch, perWrite)})`;
      console.log(
        `- ${workers} worker(s): ${sent}; ${shares === null ? "no CPU figures" : formatCpu(shares)}; ` +
          `${w.calls} writes of ${perWrite.toFixed(1)} ms${ceiling}`,
      );
    }
  }
  printSweep(sqliteFigures?.swept ?? null, postgresFigures?.swept ?? null);
}

/** The sweep's table, each column's best in bold and the default's share of it. */
function printSweep(sqliteSwept: Map<number, number> | null, postgresSwept: Map<number, number> | null) {
  const columns = [
    [`SQLite ${sqliteSweepTotal.toLocaleString("en")}, 1 worker`, sqliteSwept],
    [`PostgreSQL ${postgresSweepTotal.toLocaleString("en")}, 4 workers`, postgresSwept],
  ].filter((column): column is [string, Map<number, number>] => column[1] !== null);
  if (columns.length === 0) return;
  console.log("\n### Batch size (recipients per claim and per write), best of two runs each\n");
  console.log(`| batchSize | ${columns.map(([title]) => title).join(" | ")} |`);
  console.log(`| ---: | ${columns.map(() => "---:").join(" | ")} |`);
  for (const size of sweepSizes) {
    const cells = columns.map(([, figures]) => {
      const value = figures.get(size)!;
      const top = Math.max(...figures.values());
      const text = `${Math.round(value).toLocaleString("en")}/s (${((100 * value) / top).toFixed(0)} %)`;
      return value === top ? `**${text}**` : text;
    });
    const label = size === WORKER_DEFAULTS.batchSize ? `${size} (default)` : String(size);
    console.log(`| ${label} | ${cells.join(" | ")} |`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

/**
 * The SQL stores at scale: one 1,000,000-recipient broadcast end to end (created from a lazy
 * source, sent through `createSendWorker` with a no-op sender, settled) on SQLite with one worker
 * and on PostgreSQL with four, and a progress read at that size; each beside a naive baseline
 * measured in the same run: one autocommitted UPDATE per recipient, and progress by
 * `COUNT(*) ... GROUP BY state` over the recipients.
 *
 * Targets (issue 4): SQLite >= 100,000 recipients/s, PostgreSQL (4 workers) >= 25,000/s, a
 * progress read <= 1 ms on SQLite. `BENCH_RECIPIENTS` shrinks the broadcast; `DATABASE_URL`
 * names the PostgreSQL server (default `postgres://postgres@127.0.0.1:5432/test`).
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { createFakeSender, createMemoryQueue } from "../src/adapters/memory/index.js";
import { createPostgresStore } from "../src/adapters/postgres/index.js";
import { createSqliteStore } from "../src/adapters/sqlite/index.js";
import {
  type BroadcastStore,
  createBroadcastService,
  createSendWorker,
  type NewRecipient,
} from "../src/index.js";

const total = Number(process.env.BENCH_RECIPIENTS ?? 1_000_000);
const batchSize = Number(process.env.BENCH_BATCH ?? 1000);
const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
/** The naive loops are slow by design: they run on a sample and report a rate. */
const sqliteBaselineSample = Math.min(total, 50_000);
const postgresBaselineSample = Math.min(total, 20_000);

function* recipients(count: number): Generator<NewRecipient> {
  for (let i = 1; i <= count; i++) yield { recipientId: i, chatId: 100_000_000 + i };
}

const rate = (count: number, ms: number) => `${Math.round(count / (ms / 1000)).toLocaleString("en")}/s`;
const perRead = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(1)} ms`);

interface Figures {
  /** This machine's pace: a bare single-row UPDATE by primary key, per second (SQLite only). */
  referenceRate?: number;
  createMs: number;
  sendMs: number;
  readMs: number;
  baselineSendMs: number;
  baselineReadMs: number;
}

/** Creates the broadcast, starts it and runs `workers` send workers on it until it is settled. */
async function endToEnd(
  store: BroadcastStore,
  workers: number,
): Promise<{ createMs: number; sendMs: number; id: number }> {
  const queue = createMemoryQueue();
  const service = createBroadcastService({ store, queue });
  const sender = createFakeSender({ record: false });
  const pool = Array.from({ length: workers }, (_, i) =>
    createSendWorker({ store, queue, sender, batchSize, leaseMs: 10 * 60_000, workerId: `bench-${i}` }),
  );
  const createStart = performance.now();
  const created = (
    await service.create({ message: { text: "Flash sale: 20% off today" }, recipients: recipients(total) })
  )._unsafeUnwrap();
  const createMs = performance.now() - createStart;
  (await service.start(created.id))._unsafeUnwrap();
  const sendStart = performance.now();
  const runs = await Promise.all(pool.map((w) => w.handle({ broadcastId: created.id, onlyFailed: false })));
  const sendMs = performance.now() - sendStart;
  for (const run of runs) if (run.isErr()) throw new Error(`worker failed: ${JSON.stringify(run.error)}`);
  const progress = (await service.getProgress(created.id))._unsafeUnwrap();
  if (progress.status !== "sent" || progress.sentCount !== total) {
    throw new Error(`broadcast ended ${progress.status} with ${progress.sentCount}/${total} sent`);
  }
  return { createMs, sendMs, id: created.id };
}

async function timeReads(reads: number, read: () => Promise<unknown> | unknown): Promise<number> {
  await read();
  const start = performance.now();
  for (let i = 0; i < reads; i++) await read();
  return (performance.now() - start) / reads;
}

async function sqlite(): Promise<Figures> {
  const directory = mkdtempSync(join(tmpdir(), "bk-bench-"));
  const filename = join(directory, "bench.db");
  const store = createSqliteStore({ filename });
  try {
    const { createMs, sendMs, id } = await endToEnd(store, 1);
    const readMs = await timeReads(10_000, () => store.getBroadcast(id));

    const naive = new Database(filename);
    naive.pragma("busy_timeout = 5000");
    naive.pragma("synchronous = NORMAL");
    const progressByCount = naive.prepare(
      "SELECT state, count(*) AS n FROM broadcast_recipients WHERE broadcast_id = ? GROUP BY state",
    );
    const baselineReadMs = await timeReads(5, () => progressByCount.all(id));

    const sample = await store.createBroadcast(
      {
        message: { text: "naive" },
        status: "draft",
        scheduledAt: null,
        createdBy: null,
        errorThreshold: null,
        createdAt: new Date(),
      },
      recipients(sqliteBaselineSample),
    );
    const pending = naive.prepare(
      "SELECT seq, chat_id FROM broadcast_recipients WHERE broadcast_id = ? AND state = 'pending' ORDER BY seq LIMIT 100",
    );
    const markSent = naive.prepare(
      "UPDATE broadcast_recipients SET state = 'sent', attempts = 1, message_id = ? WHERE broadcast_id = ? AND seq = ?",
    );
    const sender = createFakeSender({ record: false });
    const baselineStart = performance.now();
    for (;;) {
      const rows = pending.all(sample.id) as { seq: number; chat_id: number }[];
      if (rows.length === 0) break;
      for (const row of rows) {
        const sent = await sender.send({
          chatId: row.chat_id,
          text: "naive",
          idempotencyKey: `${sample.id}:${row.seq}`,
          broadcastId: sample.id,
          recipientId: row.seq,
        });
        markSent.run(sent.status === "delivered" ? String(sent.messageId) : null, sample.id, row.seq);
      }
    }
    const baselineSendMs = ((performance.now() - baselineStart) / sqliteBaselineSample) * total;

    const touch = naive.prepare(
      "UPDATE broadcast_recipients SET attempts = attempts WHERE broadcast_id = ? AND seq = ?",
    );
    const touches = Math.min(total, 50_000);
    const referenceStart = performance.now();
    naive.transaction(() => {
      for (let seq = 0; seq < touches; seq++) touch.run(id, seq);
    })();
    const referenceRate = touches / ((performance.now() - referenceStart) / 1000);
    naive.close();
    return { referenceRate, createMs, sendMs, readMs, baselineSendMs, baselineReadMs };
  } finally {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function postgres(): Promise<Figures> {
  const schema = `bk_bench_${process.pid}_${randomBytes(4).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 12 });
  const store = createPostgresStore({ pool, schema });
  try {
    const { createMs, sendMs, id } = await endToEnd(store, 4);
    const readMs = await timeReads(1_000, () => store.getBroadcast(id));
    const baselineReadMs = await timeReads(5, () =>
      pool.query(
        `SELECT state, count(*) AS n FROM "${schema}".broadcast_recipients WHERE broadcast_id = $1 GROUP BY state`,
        [id],
      ),
    );

    const sample = await store.createBroadcast(
      {
        message: { text: "naive" },
        status: "draft",
        scheduledAt: null,
        createdBy: null,
        errorThreshold: null,
        createdAt: new Date(),
      },
      recipients(postgresBaselineSample),
    );
    const sender = createFakeSender({ record: false });
    const naiveWorker = async (lane: number) => {
      for (let seq = lane; seq < postgresBaselineSample; seq += 4) {
        const sent = await sender.send({
          chatId: seq,
          text: "naive",
          idempotencyKey: `${sample.id}:${seq}`,
          broadcastId: sample.id,
          recipientId: seq,
        });
        await pool.query(
          `UPDATE "${schema}".broadcast_recipients SET state = 'sent', attempts = 1, message_id = $1
           WHERE broadcast_id = $2 AND seq = $3`,
          [sent.status === "delivered" ? String(sent.messageId) : null, sample.id, seq],
        );
      }
    };
    const baselineStart = performance.now();
    await Promise.all([0, 1, 2, 3].map(naiveWorker));
    const baselineSendMs = ((performance.now() - baselineStart) / postgresBaselineSample) * total;
    return { createMs, sendMs, readMs, baselineSendMs, baselineReadMs };
  } finally {
    await store.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
}

function report(name: string, workers: number, f: Figures, sendTarget: string, readTarget: string): void {
  const workersText = `${workers} worker${workers > 1 ? "s" : ""}`;
  const sendText = `${rate(total, f.sendMs)} (${(f.sendMs / 1000).toFixed(1)} s)`;
  if (f.referenceRate !== undefined) {
    const reference = `${Math.round(f.referenceRate).toLocaleString("en")}/s`;
    console.log(
      `| ${name} | machine reference: bare UPDATE by primary key, one transaction | ${reference} | | |`,
    );
  }
  console.log(`| ${name} | create from a lazy source | ${rate(total, f.createMs)} | | |`);
  console.log(
    `| ${name} | send end to end, ${workersText} | ${sendText} | ${rate(total, f.baselineSendMs)} | ${sendTarget} |`,
  );
  console.log(
    `| ${name} | progress read at ${total.toLocaleString("en")} | ${perRead(f.readMs)} | ${perRead(f.baselineReadMs)} | ${readTarget} |`,
  );
}

/** `BENCH_STORES=sqlite` (or `postgres`) runs one of the two. */
const only = process.env.BENCH_STORES;

async function main() {
  const sqliteFigures = only === "postgres" ? null : await sqlite();
  const postgresFigures = only === "sqlite" ? null : await postgres();
  console.log("\n## SQL stores (bench/stores.ts)\n");
  console.log(
    `${total.toLocaleString("en")} recipients, batch ${batchSize}, no-op sender, through createSendWorker. ` +
      `Baselines: one autocommitted UPDATE per recipient (measured on ${sqliteBaselineSample.toLocaleString("en")} ` +
      `recipients on SQLite, ${postgresBaselineSample.toLocaleString("en")} on PostgreSQL with 4 loops); ` +
      "progress by COUNT(*) GROUP BY state over the same broadcast.\n",
  );
  console.log("| store | measure | broadcastkit | naive baseline | target |");
  console.log("| --- | --- | --- | --- | --- |");
  if (sqliteFigures !== null) report("SQLite", 1, sqliteFigures, ">= 100,000/s", "<= 1 ms");
  if (postgresFigures !== null) report("PostgreSQL", 4, postgresFigures, ">= 25,000/s", "O(1)");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

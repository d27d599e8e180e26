import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBroadcastService } from "broadcastkit";
import { createBullmqQueue } from "broadcastkit/bullmq";
import { createPostgresStore } from "broadcastkit/postgres";
import { afterAll, describe, expect, it } from "vitest";
import { DATABASE_URL, dropSchema, testPool, uniqueSchema } from "../../support/postgres.js";
import { dropBullmqKeys, redisConnection } from "../../support/redis.js";
import { killWorker, readJournals, startWorker, type WorkerProcess, waitFor } from "./support/cluster.js";

/**
 * Four real worker processes share one BullMQ queue, each set up to tick every interval. Time runs
 * SCALE times faster in every process (one shared formula), so ten minutes of schedule pass in
 * seconds: broadcasts come due every 15 s of it, and each must be started (queued) exactly once,
 * by exactly one of the processes, on exactly one tick.
 */

const PROCESSES = 4;
const SCALE = 120;
/** Real milliseconds between ticks: 12 s of the processes' time. */
const TICK_MS = 100;
const MINUTE = 60_000;
const DUE_EVERY_MS = 15_000;
const DUE = (10 * MINUTE) / DUE_EVERY_MS;
const LATE = 3;

describe("one scheduler tick per interval across four processes (BullMQ job scheduler)", () => {
  const workers: WorkerProcess[] = [];
  const schema = uniqueSchema();
  const queueName = `bk-test-ticks-${randomBytes(4).toString("hex")}`;
  const journals = mkdtempSync(join(tmpdir(), "bk-ticks-"));
  afterAll(async () => {
    await Promise.all(workers.map((worker) => killWorker(worker)));
    await dropSchema(schema);
    await dropBullmqKeys(`bull:${queueName}:*`);
    rmSync(journals, { recursive: true, force: true });
  });

  it("ten minutes of ticks: each due broadcast is started once, by one process, and sent once", async () => {
    const realStart = Date.now();
    const simStart = Date.parse("2025-03-01T09:00:00.000Z");
    const clock = { now: () => new Date(simStart + (Date.now() - realStart) * SCALE) };
    const store = createPostgresStore({ pool: testPool(), schema });
    await store.migrate();
    const redis = redisConnection();
    for (let n = 0; n < PROCESSES; n++) {
      workers.push(
        startWorker(
          {
            databaseUrl: DATABASE_URL,
            schema,
            applicationName: `bk_ticks_${n}`,
            redis,
            queueName,
            guarantee: "at-least-once",
            concurrency: 2,
            batchSize: 10,
            // In the processes' time: a minute of it is half a real second.
            leaseMs: 10 * MINUTE,
            tickMs: TICK_MS,
            sendMs: 0,
            clock: { realStart, simStart, scale: SCALE },
          },
          journals,
          n,
        ),
      );
    }
    await Promise.all(workers.map((worker) => worker.ready));

    const queue = createBullmqQueue({ connection: { ...redis, maxRetriesPerRequest: null }, queueName });
    const service = createBroadcastService({ store, queue, clock });
    const from = clock.now().getTime();
    const ids: number[] = [];
    for (let i = 1; i <= DUE + LATE; i++) {
      const scheduledAt = new Date(from + (i <= DUE ? i * DUE_EVERY_MS : 60 * MINUTE + i * MINUTE));
      const created = await service.create({
        message: { text: `Due ${i}` },
        recipients: [{ recipientId: 1, chatId: 5000 + i }],
        scheduledAt,
      });
      ids.push(created._unsafeUnwrap().id);
    }
    const due = ids.slice(0, DUE);
    const late = ids.slice(DUE);
    await waitFor(
      async () => {
        const statuses = await Promise.all(due.map(async (id) => (await store.getBroadcast(id))?.status));
        return statuses.every((status) => status === "sent");
      },
      60_000,
      "every due broadcast to be sent",
    );
    await Promise.all(workers.map((worker) => killWorker(worker, "SIGTERM")));
    await queue.close();

    const entries = [...readJournals(journals).values()].flat();
    const startsOf = (id: number) =>
      entries.filter((entry) => entry.type === "started" && entry.broadcastId === id).length;
    const sendsTo = (i: number) =>
      entries.filter((entry) => entry.type === "attempt" && entry.chatId === 5000 + i).length;
    const tickJobs = entries.flatMap((entry) => (entry.type === "tick" ? [entry.jobId] : []));
    const tickers = [...readJournals(journals).values()].filter((journal) =>
      journal.some((entry) => entry.type === "tick"),
    ).length;
    console.log(
      `ticks: ${tickJobs.length} tick jobs run by ${tickers} of ${PROCESSES} processes, ${new Set(tickJobs).size} distinct; ` +
        `${DUE} due broadcasts started ${due.map(startsOf).join("")} times`,
    );

    expect(due.map(startsOf)).toEqual(due.map(() => 1));
    expect(due.map((_, i) => sendsTo(i + 1))).toEqual(due.map(() => 1));
    expect(late.map(startsOf)).toEqual(late.map(() => 0));
    for (const id of late) expect((await store.getBroadcast(id))?.status).toBe("scheduled");
    // Every iteration of the job scheduler ran once, in one process: never once per process.
    expect(tickJobs.length).toBeGreaterThan(0);
    expect(new Set(tickJobs).size).toBe(tickJobs.length);
  });
});

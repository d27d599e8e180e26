/**
 * `npm run demo:cluster`: one admin API process and CLUSTER_WORKERS worker processes on PostgreSQL
 * and Redis send a paid broadcast of CLUSTER_RECIPIENTS (50,000) to a Bot API look-alike answering
 * after a round trip; one worker is killed with SIGKILL midway and started again. Progress is read
 * through the admin API until the broadcast ends; then every process is stopped with SIGTERM and
 * the tally compares what the store counted with what the look-alike received.
 *
 * Every 50th chat has blocked the bot (a permanent failure), so the broadcast ends `completed`.
 * Exits 1 if a recipient was lost, the counts disagree, or a process did not stop cleanly.
 */
import { botAnswers, createFakeBotApi } from "broadcastkit/testing";
import { Redis } from "ioredis";
import pg from "pg";
import { startProcess } from "./processes.js";
import {
  ADMIN_TOKEN,
  BOT_TOKEN,
  CONCURRENCY_PER_WORKER,
  DATABASE_URL,
  openQueue,
  PAID_PER_SECOND,
  RECIPIENTS,
  REDIS_URL,
  ROUND_TRIP_MS,
  RUN_ID,
  WORKERS,
} from "./settings.js";

const CHUNK = 10_000;
const KILL_AT_PROCESSED_PCT = 40;
/** How often progress is read and printed (CLUSTER_POLL_MS). */
const POLL_MS = Number(process.env.CLUSTER_POLL_MS ?? 1000);
const isBlocked = (chatId: number) => chatId % 50 === 7;
const number = (value: number) => value.toLocaleString("en-US");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Drops what an earlier run of this RUN_ID left: its schema, its BullMQ queue, its limiter keys. */
async function dropRunState(): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${RUN_ID}" CASCADE`);
  await client.end();
  const queue = openQueue();
  await queue.bullQueue.obliterate({ force: true });
  await queue.close();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const keys = await redis.keys(`broadcastkit:telegram:${RUN_ID}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

// The look-alike, in this process: it records every call, so the tally can count duplicates.
const api = createFakeBotApi({
  token: BOT_TOKEN,
  latency: { baseMs: ROUND_TRIP_MS, jitterMs: ROUND_TRIP_MS / 5 },
});
const chats = Array.from({ length: RECIPIENTS }, (_, i) => 10_000_000 + i);
for (const chatId of chats.filter(isBlocked)) api.answerChatAlways(chatId, botAnswers.forbidden());
const { url: botApiRoot } = await api.start();

await dropRunState();
const env = { CLUSTER_RUN_ID: RUN_ID, BOT_API_ROOT: botApiRoot };
const admin = startProcess("admin", "./admin.ts", { ...env, PORT: "0" });
const workers = Array.from({ length: WORKERS }, (_, i) =>
  startProcess(`worker-${i + 1}`, "./worker.ts", env, [`worker-${i + 1}`]),
);
const [[, adminUrl]] = await Promise.all([
  admin.waitFor(/listening on (http:\S+)/),
  ...workers.map((worker) => worker.waitFor(/ready/)),
]);

/** One admin API call; the API's own words when it refuses. */
async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(new URL(path, adminUrl), {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = (await response.json()) as { success: boolean; data?: unknown; error?: { message: string } };
  if (!answer.success) throw new Error(`${method} ${path}: ${answer.error?.message}`);
  return answer.data as Record<string, unknown>;
}

// A create takes about 14,000 recipients (1 MB): the draft is built in chunks, then sent.
const chunk = (from: number) =>
  chats.slice(from, from + CHUNK).map((chatId, i) => ({
    recipient_id: from + i + 1,
    chat_id: chatId,
    variables: { name: `guest ${from + i + 1}` },
  }));
const created = await call("POST", "", {
  message: "Hello, {{name|friend}}: the summer sale starts now",
  recipients: chunk(0),
});
const id = Number(created.id);
for (let from = CHUNK; from < RECIPIENTS; from += CHUNK)
  await call("POST", `${id}/recipients/`, { recipients: chunk(from) });
console.log(
  `[run] broadcast ${id}: ${number(RECIPIENTS)} recipients, ${WORKERS} workers × ${CONCURRENCY_PER_WORKER} in flight, ` +
    `paid limit ${number(PAID_PER_SECOND)}/s, round trip ${ROUND_TRIP_MS} ms`,
);

const startedAt = Date.now();
await call("POST", `${id}/send/`);
let killed = false;
let previous = { at: startedAt, processed: 0 };
let progress: Record<string, unknown>;
for (;;) {
  await sleep(POLL_MS);
  progress = await call("GET", `${id}/progress/`);
  const sent = Number(progress.sent_count);
  const failed = Number(progress.failed_count);
  const now = Date.now();
  const rate = ((sent + failed - previous.processed) * 1000) / (now - previous.at);
  previous = { at: now, processed: sent + failed };
  console.log(
    `[run] ${((now - startedAt) / 1000).toFixed(1).padStart(5)} s  ${String(progress.status).padEnd(9)} ` +
      `${String(progress.processed_pct).padStart(3)}%  sent ${number(sent)}  failed ${number(failed)}  ` +
      `pending ${number(Number(progress.pending_count))}  ${number(Math.round(rate))}/s`,
  );
  if (!["sending", "draft"].includes(String(progress.status))) break;
  if (!killed && Number(progress.processed_pct) >= KILL_AT_PROCESSED_PCT) {
    const victim = workers[0];
    if (victim !== undefined) {
      killed = true;
      victim.child.kill("SIGKILL");
      console.log(`[run] SIGKILL ${victim.name}: its leases expire, the others take its recipients`);
      workers[0] = startProcess(victim.name, "./worker.ts", env, [victim.name]);
      await workers[0].waitFor(/ready/);
      console.log(`[run] ${victim.name} started again`);
    }
  }
}
const seconds = (Date.now() - startedAt) / 1000;

// Every process stops as on a deploy; each must exit by itself, with code 0.
const stoppedCleanly = (await Promise.all([...workers, admin].map((started) => started.stop()))).every(
  Boolean,
);
await api.close();
await dropRunState();

const calls = api.requests.filter((request) => request.method === "sendMessage");
const reached = new Set(calls.map((request) => Number(request.chatId)));
const answeredOk = new Set(
  calls.filter((request) => request.status === 200).map((request) => Number(request.chatId)),
);
const blockedReached = [...reached].filter(isBlocked).length;
const sent = Number(progress.sent_count);
const failed = Number(progress.failed_count);
const tally = {
  status: String(progress.status),
  total: RECIPIENTS,
  sent,
  failed,
  pending: Number(progress.pending_count),
  callsAtFake: calls.length,
  duplicates: calls.length - reached.size,
  lost: RECIPIENTS - reached.size,
  countsMatch: sent === answeredOk.size && failed === blockedReached && sent + failed === RECIPIENTS,
  killedWorker: killed,
  stoppedCleanly,
  seconds: Math.round(seconds * 10) / 10,
};
console.log(
  [
    `[run] done in ${tally.seconds} s: ${tally.status}`,
    `      recipients ${number(tally.total)}: sent ${number(sent)}, failed ${number(failed)} (blocked the bot), pending ${tally.pending}`,
    `      at the look-alike: ${number(tally.callsAtFake)} calls to ${number(reached.size)} chats, ` +
      `duplicates ${tally.duplicates} (at-least-once: the killed worker's sends in flight or not yet ` +
      `written, at most ~${CONCURRENCY_PER_WORKER} + its share of a second's sends)`,
    `      lost ${tally.lost}; store counts ${tally.countsMatch ? "match" : "DO NOT match"} the look-alike; ` +
      `processes ${stoppedCleanly ? "all stopped cleanly on SIGTERM" : "did NOT all stop cleanly"}`,
    `tally ${JSON.stringify(tally)}`,
  ].join("\n"),
);
process.exitCode = tally.lost === 0 && tally.countsMatch && stoppedCleanly && tally.killedWorker ? 0 : 1;

/**
 * One worker process of the cluster: it takes send jobs from BullMQ, claims recipients from
 * PostgreSQL under leases, and sends through the Telegram sender, whose limit every worker shares
 * through Redis. Start as many as you like (`npx tsx examples/cluster/worker.ts <name>`); SIGTERM
 * stops one gracefully, SIGKILL is what `run.ts` does to one midway.
 */
import { createBroadcastKit } from "broadcastkit";
import { createTelegramSender, redisRateLimiter } from "broadcastkit/telegram";
import { Redis } from "ioredis";
import {
  BOT_API_ROOT,
  BOT_TOKEN,
  CONCURRENCY_PER_WORKER,
  consoleLogger,
  LEASE_MS,
  openQueue,
  openStore,
  REDIS_URL,
  RUN_ID,
} from "./settings.js";

const name = process.argv[2] ?? `worker-${process.pid}`;

const logger = consoleLogger(name);

const store = openStore();
const queue = openQueue();
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });

const kit = createBroadcastKit({
  store,
  queue,
  sender: createTelegramSender({
    token: BOT_TOKEN,
    apiRoot: BOT_API_ROOT,
    paidBroadcast: true,
    // Every process counts the bot's 1,000/s (and each chat's 1/s) in the same Redis keys.
    rateLimiter: redisRateLimiter({ redis, keyPrefix: `broadcastkit:telegram:${RUN_ID}` }),
    logger,
  }),
  logger,
  worker: { concurrency: CONCURRENCY_PER_WORKER, leaseMs: LEASE_MS },
});

// Consumes send jobs, and joins the cluster's single scheduler tick (a BullMQ job scheduler).
await kit.start();
console.log(`[${name}] ready: ${CONCURRENCY_PER_WORKER} sends in flight per job`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Stops taking jobs; sends in flight settle and are written; recipients claimed but not yet
  // sent are released, and the job is queued again, so another worker takes them at once.
  await kit.stop();
  await store.close();
  redis.disconnect();
  console.log(`[${name}] ${signal}: stopped`);
}

process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

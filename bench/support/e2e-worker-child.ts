/**
 * A worker process of the end-to-end bench, set up as a host would: `createBroadcastKit` on a
 * shared SQLite file, a memory queue, and the Telegram sender sharing the bot's limit through
 * Redis. Its scheduler ticks every 200 ms, so a sending broadcast nobody holds becomes its own.
 */
import { Redis } from "ioredis";
import { z } from "zod";
import { createMemoryQueue } from "../../src/adapters/memory/index.js";
import { createSqliteStore } from "../../src/adapters/sqlite/index.js";
import { createTelegramSender, redisRateLimiter } from "../../src/adapters/telegram/index.js";
import { createBroadcastKit } from "../../src/index.js";

const options = z
  .object({
    filename: z.string(),
    apiRoot: z.string(),
    token: z.string(),
    redisUrl: z.string(),
    keyPrefix: z.string(),
  })
  .parse(JSON.parse(process.argv[2] ?? "{}"));
const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
const kit = createBroadcastKit({
  store: createSqliteStore({ filename: options.filename }),
  queue: createMemoryQueue({ autoRun: true }),
  sender: createTelegramSender({
    token: options.token,
    apiRoot: options.apiRoot,
    rateLimiter: redisRateLimiter({ redis, keyPrefix: options.keyPrefix }),
  }),
  scheduler: { intervalMs: 200 },
});
await kit.start();
process.once("SIGTERM", () => {
  void kit.stop().then(() => {
    redis.disconnect();
    process.exit(0);
  });
});
process.send?.({ type: "ready" });

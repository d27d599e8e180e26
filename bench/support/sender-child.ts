/** The child side of `startSenderProcess`: one sender; on "run", callers send until the deadline. */
import { Redis } from "ioredis";
import { z } from "zod";
import { createTelegramSender, redisRateLimiter } from "../../src/adapters/telegram/index.js";

const optionsSchema = z.object({
  apiRoot: z.string(),
  token: z.string(),
  concurrency: z.number().int().positive(),
  paidBroadcast: z.boolean().optional(),
  redis: z.object({ url: z.string(), keyPrefix: z.string() }).optional(),
  chatBase: z.number().optional(),
});

const options = optionsSchema.parse(JSON.parse(process.argv[2] ?? "{}"));
const redis =
  options.redis === undefined ? undefined : new Redis(options.redis.url, { maxRetriesPerRequest: 1 });
const sender = createTelegramSender({
  token: options.token,
  apiRoot: options.apiRoot,
  paidBroadcast: options.paidBroadcast ?? false,
  ...(redis === undefined || options.redis === undefined
    ? {}
    : { rateLimiter: redisRateLimiter({ redis, keyPrefix: options.redis.keyPrefix }) }),
});

const run = z.object({ type: z.literal("run"), until: z.number() });
const { until } = await new Promise<z.output<typeof run>>((resolve) => {
  const onMessage = (message: unknown) => {
    const parsed = run.safeParse(message);
    if (!parsed.success) return;
    process.off("message", onMessage);
    resolve(parsed.data);
  };
  process.on("message", onMessage);
  process.send?.({ type: "ready" });
});

const counts = { delivered: 0, failed: 0, notSent: 0 };
let next = options.chatBase ?? 1;
const caller = async () => {
  while (Date.now() < until) {
    const chatId = next++;
    const result = await sender.send({
      chatId,
      text: "pacing",
      idempotencyKey: `broadcast:1:recipient:${chatId}`,
      broadcastId: 1,
      recipientId: chatId,
    });
    if (result.status === "delivered") counts.delivered++;
    else if (result.status === "failed") counts.failed++;
    else counts.notSent++;
  }
};
await Promise.all(Array.from({ length: options.concurrency }, caller));
redis?.disconnect();
process.send?.({ type: "done", ...counts }, () => process.disconnect());

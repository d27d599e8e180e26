/**
 * The design a team would write instead of broadcastkit, in a process of its own: one BullMQ job
 * per recipient, each sent by the same no-op sender, nothing written anywhere (its best case).
 * Waits for `go`, then processes `count` jobs with `concurrency` and answers `{ type: "done", ms }`,
 * timed from the worker's start to the last job's completion.
 */
import { Worker } from "bullmq";
import { z } from "zod";
import { createFakeSender } from "../../src/adapters/memory/index.js";

const options = z
  .object({
    queueName: z.string(),
    count: z.number(),
    concurrency: z.number(),
    connection: z.object({
      host: z.string(),
      port: z.number(),
      db: z.number(),
      password: z.string().optional(),
    }),
  })
  .parse(JSON.parse(process.argv[2] ?? "{}"));
const job = z.object({
  broadcastId: z.number(),
  recipientId: z.number(),
  chatId: z.number(),
  text: z.string(),
});

const sender = createFakeSender({ record: false });
const worker = new Worker(
  options.queueName,
  async ({ data }) => {
    const { broadcastId, recipientId, chatId, text } = job.parse(data);
    const result = await sender.send({
      broadcastId,
      recipientId,
      chatId,
      text,
      idempotencyKey: `broadcast:${broadcastId}:recipient:${recipientId}`,
    });
    if (result.status !== "delivered") throw new Error(`not delivered: ${result.status}`);
  },
  {
    connection: { ...options.connection, maxRetriesPerRequest: null },
    concurrency: options.concurrency,
    autorun: false,
  },
);

let completed = 0;
let startedAt = 0;
worker.on("completed", () => {
  completed += 1;
  if (completed === options.count) {
    const ms = performance.now() - startedAt;
    void worker.close().then(() => {
      process.send?.({ type: "done", ms });
      process.disconnect();
    });
  }
});
process.on("message", (message) => {
  if (z.object({ type: z.literal("go") }).safeParse(message).success) {
    startedAt = performance.now();
    void worker.run();
  }
});
process.send?.({ type: "ready" });

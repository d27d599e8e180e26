/**
 * A worker process of the cluster bench, as a host runs one: `createBroadcastKit` on the shared
 * PostgreSQL schema and BullMQ queue, worker defaults, a no-op sender. One send job at a time
 * (BullMQ concurrency 1), so a broadcast started with `parallelism` N runs on N processes.
 * Says `ready` once consuming; SIGTERM stops it gracefully.
 */
import { z } from "zod";
import { createBullmqQueue } from "../../src/adapters/bullmq/index.js";
import { createFakeSender } from "../../src/adapters/memory/index.js";
import { createPostgresStore } from "../../src/adapters/postgres/index.js";
import { createBroadcastKit } from "../../src/index.js";

const options = z
  .object({
    databaseUrl: z.string(),
    schema: z.string(),
    queueName: z.string(),
    connection: z.object({
      host: z.string(),
      port: z.number(),
      db: z.number(),
      password: z.string().optional(),
    }),
  })
  .parse(JSON.parse(process.argv[2] ?? "{}"));

const store = createPostgresStore({ connectionString: options.databaseUrl, schema: options.schema });
const kit = createBroadcastKit({
  store,
  queue: createBullmqQueue({
    connection: { ...options.connection, maxRetriesPerRequest: null },
    queueName: options.queueName,
    concurrency: 1,
  }),
  sender: createFakeSender({ record: false }),
});
await kit.start();
process.once("SIGTERM", () => {
  void kit
    .stop()
    .then(() => store.close())
    .then(() => process.exit(0));
});
process.send?.({ type: "ready" });

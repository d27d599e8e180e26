import { createBullmqQueue } from "broadcastkit/bullmq";
import { describeQueueConformance } from "broadcastkit/testing/conformance";
import { afterAll } from "vitest";
import { dropBullmqKeys, redisConnection } from "../../support/redis.js";

describeQueueConformance(
  "BullMQ queue",
  ({ name, retryBaseDelayMs, maxRetries }) =>
    createBullmqQueue({
      connection: { ...redisConnection(), maxRetriesPerRequest: null },
      queueName: name,
      retry: { baseDelayMs: retryBaseDelayMs, maxRetries },
    }),
  { durable: true },
);

afterAll(() => dropBullmqKeys("bull:bk-conformance-*"));

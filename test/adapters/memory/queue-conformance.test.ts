import { createMemoryQueue } from "broadcastkit/memory";
import { describeQueueConformance } from "broadcastkit/testing/conformance";

describeQueueConformance(
  "memory queue (autoRun)",
  ({ retryBaseDelayMs, maxRetries }) =>
    createMemoryQueue({ autoRun: true, retry: { baseDelayMs: retryBaseDelayMs, maxRetries } }),
  { durable: false },
);

import { randomUUID } from "node:crypto";
import { type BullmqQueue, createBullmqQueue } from "broadcastkit/bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { dropBullmqKeys, redisConnection } from "../../support/redis.js";

const connection = { ...redisConnection(), maxRetriesPerRequest: null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error("timed out");
    await sleep(20);
  }
}

describe("the BullMQ scheduler tick", () => {
  let queue: BullmqQueue | null = null;
  afterEach(async () => {
    await queue?.close();
    queue = null;
  });

  it("comes back on its own after Redis lost the queue's data (a restart without persistence)", async () => {
    const queueName = `bk-test-tick-${randomUUID()}`;
    queue = createBullmqQueue({ connection, queueName });
    let ticks = 0;
    await queue.scheduleTicks(100, async () => {
      ticks += 1;
    });
    await until(() => ticks >= 2);

    // What a Redis restarted empty looks like to BullMQ: none of the queue's keys, the job scheduler included.
    await dropBullmqKeys(`bull:${queueName}:*`);
    expect(await queue.bullQueue.getJobScheduler("broadcastkit:tick")).toBeUndefined();
    const before = ticks;

    await until(() => ticks >= before + 3);
    expect(await queue.bullQueue.getJobScheduler("broadcastkit:tick")).toBeDefined();
    await queue.close();
    queue = null;
    await dropBullmqKeys(`bull:${queueName}:*`);
  });

  it("refuses stalled-job settings that are not positive durations", () => {
    expect(() =>
      createBullmqQueue({ connection, queueName: "bk-test-never", stalled: { lockDurationMs: 0 } }),
    ).toThrow(RangeError);
    expect(() =>
      createBullmqQueue({ connection, queueName: "bk-test-never", stalled: { checkIntervalMs: Number.NaN } }),
    ).toThrow(RangeError);
  });
});

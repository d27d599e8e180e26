import { randomUUID } from "node:crypto";
import { type BroadcastKit, createBroadcastKit } from "broadcastkit";
import { createBullmqQueue } from "broadcastkit/bullmq";
import { createFakeSender } from "broadcastkit/memory";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { makePostgresStore, type TestPostgresStore } from "../../support/postgres.js";
import { dropBullmqKeys, redisConnection } from "../../support/redis.js";

const connection = { ...redisConnection(), maxRetriesPerRequest: null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error("timed out");
    await sleep(25);
  }
}

describe("createBroadcastKit on BullMQ and PostgreSQL: two hosts share the work", () => {
  let pg: TestPostgresStore;
  const kits: BroadcastKit[] = [];
  afterEach(async () => {
    for (const kit of kits.splice(0)) await kit.stop();
    await pg.close();
  });
  afterAll(() => dropBullmqKeys("bull:bk-test-*"));

  function host(queueName: string, sender = createFakeSender()) {
    const kit = createBroadcastKit({
      store: pg.store,
      queue: createBullmqQueue({ connection, queueName }),
      sender,
      worker: { batchSize: 20, concurrency: 4 },
      scheduler: { intervalMs: 200 },
    });
    kits.push(kit);
    return { kit, sender };
  }

  it("a broadcast started with parallelism 2 is sent by both hosts, everyone once", async () => {
    pg = await makePostgresStore();
    const queueName = `bk-test-${randomUUID()}`;
    const slow = () =>
      createFakeSender({
        respond: async () => {
          await sleep(2);
          return { status: "delivered" };
        },
      });
    const a = host(queueName, slow());
    const b = host(queueName, slow());
    await Promise.all([a.kit.start(), b.kit.start()]);
    const created = (
      await a.kit.service.create({
        message: { text: "Hi" },
        recipients: Array.from({ length: 400 }, (_, i) => ({ recipientId: i + 1, chatId: 1000 + i })),
      })
    )._unsafeUnwrap();

    (await a.kit.service.start(created.id, { parallelism: 2 }))._unsafeUnwrap();
    await until(async () => (await a.kit.service.getProgress(created.id))._unsafeUnwrap().status === "sent");

    const sentTo = [...a.sender.calls, ...b.sender.calls].map((call) => Number(call.recipientId));
    expect(sentTo.sort((x, y) => x - y)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(a.sender.calls.length).toBeGreaterThan(0);
    expect(b.sender.calls.length).toBeGreaterThan(0);
  });

  it("the tick runs once per interval across hosts, and a due broadcast starts once", async () => {
    pg = await makePostgresStore();
    const queueName = `bk-test-${randomUUID()}`;
    const hosts = [host(queueName), host(queueName), host(queueName)];
    const starts: number[] = [];
    const ticks: number[] = [];
    for (const { kit } of hosts) {
      const original = kit.service.processScheduled;
      kit.service.processScheduled = (now) => {
        ticks.push(Date.now());
        return original(now);
      };
    }
    const due = (
      await hosts[0]!.kit.service.create({
        message: { text: "Hi" },
        recipients: [{ recipientId: 1, chatId: 1 }],
        scheduledAt: new Date(Date.now() + 1500),
      })
    )._unsafeUnwrap();
    await Promise.all(hosts.map(({ kit }) => kit.start()));
    const begun = Date.now();
    await sleep(3000);
    for (const { sender } of hosts) for (const call of sender.calls) starts.push(Number(call.recipientId));

    const tickedOnTimer = ticks.filter((at) => at > begun + 50);
    // Three hosts ticking on their own timers would tick ~45 times in 3 s; once per 200 ms is ~15.
    expect(tickedOnTimer.length).toBeGreaterThanOrEqual(8);
    expect(tickedOnTimer.length).toBeLessThanOrEqual(22);
    expect((await hosts[0]!.kit.service.getProgress(due.id))._unsafeUnwrap().status).toBe("sent");
    expect(starts).toEqual([1]);
  });
});

import { type BroadcastKitEvent, createBroadcastKit, type SendResult } from "broadcastkit";
import { createFakeSender, createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { describe, expect, it } from "vitest";
import { recipientsFor } from "./support/world.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("createBroadcastKit, the composition root", () => {
  it("wires the events once: the service's and the worker's all reach the one sink", async () => {
    const events: BroadcastKitEvent[] = [];
    const kit = createBroadcastKit({
      store: createMemoryStore(),
      queue: createMemoryQueue({ autoRun: true }),
      sender: createFakeSender({
        respond: (m): SendResult =>
          m.recipientId === 2
            ? { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" }
            : { status: "delivered" },
      }),
      events: { emit: (event) => void events.push(event) },
    });
    await kit.start();

    const created = (
      await kit.service.create({ message: { text: "Hi" }, recipients: recipientsFor(3) })
    )._unsafeUnwrap();
    (await kit.service.start(created.id))._unsafeUnwrap();
    for (let i = 0; i < 200 && !events.some((e) => e.type === "broadcast.completed"); i++) await sleep(5);
    await kit.stop();

    expect(events.map((e) => e.type)).toEqual([
      "broadcast.started",
      "recipient.failed",
      "broadcast.completed",
    ]);
    expect(events.at(-1)).toMatchObject({ status: "completed", sentCount: 2, failedCount: 1 });
  });

  it("a cancel through its service stops its worker at once, and answers with the final counts", async () => {
    const store = createMemoryStore();
    const sender = createFakeSender({
      respond: async () => {
        await sleep(5);
        return { status: "delivered" };
      },
    });
    const kit = createBroadcastKit({
      store,
      queue: createMemoryQueue({ autoRun: true }),
      sender,
      // A status read every minute: only the in-process signal can stop the worker in time.
      worker: { concurrency: 2, statusPollMs: 60_000 },
    });
    await kit.start();
    const created = (
      await kit.service.create({ message: { text: "Hi" }, recipients: recipientsFor(500) })
    )._unsafeUnwrap();
    (await kit.service.start(created.id))._unsafeUnwrap();
    await sleep(60);

    const startedAt = Date.now();
    (await kit.service.cancel(created.id))._unsafeUnwrap();
    const waited = Date.now() - startedAt;
    const calls = sender.callCount;
    const progress = (await kit.service.getProgress(created.id))._unsafeUnwrap();
    await sleep(50);
    await kit.stop();

    expect(waited).toBeLessThan(5000);
    expect(progress).toMatchObject({ status: "cancelled", sentCount: calls, cancelledCount: 500 - calls });
    expect(sender.callCount).toBe(calls);
  });

  it("start() picks up a broadcast an earlier process left sending, with nothing lost", async () => {
    const store = createMemoryStore();
    const before = createBroadcastKit({
      store,
      queue: createMemoryQueue(),
      sender: createFakeSender(),
      scheduler: false,
    });
    const created = (
      await before.service.create({ message: { text: "Hi" }, recipients: recipientsFor(20) })
    )._unsafeUnwrap();
    // Started, its job queued in a queue nobody will ever run: the process died.
    (await before.service.start(created.id))._unsafeUnwrap();

    const sender = createFakeSender();
    const after = createBroadcastKit({ store, queue: createMemoryQueue({ autoRun: true }), sender });
    await after.start();
    for (let i = 0; i < 200 && sender.callCount < 20; i++) await sleep(5);
    await sleep(20);
    const progress = (await after.service.getProgress(created.id))._unsafeUnwrap();
    await after.stop();

    expect(progress).toMatchObject({ status: "sent", sentCount: 20 });
    expect(new Set(sender.calls.map((call) => call.recipientId)).size).toBe(20);
  });

  it("stop() ends the running job gracefully: what was sent is written, the rest released and queued again", async () => {
    const store = createMemoryStore();
    const queue = createMemoryQueue({ autoRun: true });
    const sender = createFakeSender({
      respond: async () => {
        await sleep(10);
        return { status: "delivered" };
      },
    });
    const kit = createBroadcastKit({ store, queue, sender, worker: { concurrency: 2 } });
    await kit.start();
    const created = (
      await kit.service.create({ message: { text: "Hi" }, recipients: recipientsFor(200) })
    )._unsafeUnwrap();
    (await kit.service.start(created.id))._unsafeUnwrap();
    await sleep(60);

    await kit.stop();
    const progress = (await kit.service.getProgress(created.id))._unsafeUnwrap();

    expect(progress).toMatchObject({ status: "sending", sentCount: sender.callCount });
    expect((await store.getActivity(created.id, new Date()))?.leased).toBe(false);
    expect(queue.pending().map((p) => p.job.broadcastId)).toEqual([created.id]);
  });

  it("sends several broadcasts side by side: a short one started during a long one does not wait for it", async () => {
    const sender = createFakeSender({
      respond: async () => {
        await sleep(2);
        return { status: "delivered" };
      },
    });
    const kit = createBroadcastKit({
      store: createMemoryStore(),
      queue: createMemoryQueue({ autoRun: true }),
      sender,
      worker: { concurrency: 2 },
    });
    await kit.start();
    const create = async (count: number) =>
      (
        await kit.service.create({ message: { text: "Hi" }, recipients: recipientsFor(count) })
      )._unsafeUnwrap();
    const long = await create(400);
    const short = await create(5);
    (await kit.service.start(long.id))._unsafeUnwrap();
    await sleep(30);
    (await kit.service.start(short.id))._unsafeUnwrap();

    for (let i = 0; i < 400; i++) {
      if ((await kit.service.getProgress(short.id))._unsafeUnwrap().status === "sent") break;
      await sleep(5);
    }
    const longWhenShortDone = (await kit.service.getProgress(long.id))._unsafeUnwrap();
    await kit.service.cancel(long.id);
    await kit.stop();

    expect((await kit.service.getProgress(short.id))._unsafeUnwrap().status).toBe("sent");
    expect(longWhenShortDone.status).toBe("sending");
  });
});

import type { SendResult } from "broadcastkit";
import { afterEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { MINUTE, makeWorld, type World } from "./support/world.js";

describe.each(storeFactories)("one broadcast shared by several send jobs, on the $name store", (factory) => {
  let w: World;
  afterEach(() => w.close());

  it("start with parallelism queues one job per part, each under its own key; together they send everyone once", async () => {
    w = await makeWorld(factory, { batchSize: 5 });
    const b = await w.create(40);

    const started = await w.service.start(b.id, { parallelism: 3 });

    expect(started.isOk()).toBe(true);
    expect(w.queue.pending().map((p) => [p.job, p.dedupeKey])).toEqual([
      [{ broadcastId: b.id, onlyFailed: false }, `send:${b.id}:now`],
      [{ broadcastId: b.id, onlyFailed: false, part: 1 }, `send:${b.id}:part-1:now`],
      [{ broadcastId: b.id, onlyFailed: false, part: 2 }, `send:${b.id}:part-2:now`],
    ]);
    await Promise.all(w.queue.pending().map((p) => w.worker.handle(p.job)));
    await w.settle();

    const calls = w.sender.calls.map((call) => Number(call.recipientId)).sort((x, y) => x - y);
    expect(calls).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 40 });
  });

  it("each part waits for its own next attempt: continuations keep the broadcast's parallelism", async () => {
    w = await makeWorld(factory, { batchSize: 2 });
    const timeout: SendResult = { status: "failed", kind: "transient", description: "Network timeout" };
    w.respondWith(() => timeout);
    const b = await w.create(6);
    (await w.service.start(b.id, { parallelism: 2 }))._unsafeUnwrap();

    await w.runJobs();

    expect(
      w.queue
        .pending()
        .map((p) => p.dedupeKey)
        .sort(),
    ).toEqual([`send:${b.id}:later`, `send:${b.id}:part-1:later`]);
    expect(w.queue.pending().every((p) => p.dueAt.getTime() === w.clock.now().getTime() + MINUTE)).toBe(true);
  });

  it("resume and retry take the same option", async () => {
    w = await makeWorld(factory);
    w.respondWith((m) =>
      m.recipientId === 1
        ? { status: "failed", kind: "transient", description: "Bad Gateway" }
        : { status: "delivered" },
    );
    const b = await w.create(3);
    (await w.service.start(b.id))._unsafeUnwrap();
    await w.settle();
    expect((await w.broadcast(b.id)).status).toBe("completed");
    w.respondWith(() => ({ status: "delivered" }));

    (await w.service.retryFailed(b.id, { parallelism: 2 }))._unsafeUnwrap();
    expect(w.queue.pending().map((p) => p.job)).toEqual([
      { broadcastId: b.id, onlyFailed: true },
      { broadcastId: b.id, onlyFailed: true, part: 1 },
    ]);
    await w.settle();
    const again = await w.create(2);
    (await w.service.start(again.id))._unsafeUnwrap();
    (await w.service.pause(again.id))._unsafeUnwrap();
    w.queue.clear();
    (await w.service.resume(again.id, { parallelism: 4 }))._unsafeUnwrap();
    expect(w.queue.pending()).toHaveLength(4);
  });

  it.each([0, 65, 1.5])(
    "refuses parallelism %s, naming the field, and changes nothing",
    async (parallelism) => {
      w = await makeWorld(factory);
      const b = await w.create(2);

      const refused = (await w.service.start(b.id, { parallelism }))._unsafeUnwrapErr();

      expect(refused).toMatchObject({ type: "validation", issues: [{ path: "parallelism" }] });
      expect((await w.broadcast(b.id)).status).toBe("draft");
      expect(w.queue.pending()).toEqual([]);
    },
  );
});

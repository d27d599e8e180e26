import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { makeWorld, type World } from "./support/world.js";

/** A broadcast in `sending` is useless without its send job: when queuing fails, the move is undone. */
describe.each(storeFactories)("when the send job cannot be queued, on the $name store", (factory) => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld(factory);
  });
  afterEach(() => w.close());

  it("start answers a storage error and leaves the broadcast as it was", async () => {
    const b = await w.create(2);
    w.failNextEnqueue();

    const failed = (await w.service.start(b.id))._unsafeUnwrapErr();

    expect(failed).toMatchObject({ type: "storage" });
    expect(await w.broadcast(b.id)).toMatchObject({ status: "draft", sentAt: null });
    expect(w.events).toEqual([]);
    expect((await w.service.start(b.id)).isOk()).toBe(true);
  });

  it("a start cancelled before its failed queuing is undone leaves the broadcast cancelled, never sent", async () => {
    const b = await w.create(2);
    w.failNextEnqueue();
    // The start's own change is call 1; its undo is call 2, and a cancel gets in just before it.
    let calls = 0;
    w.faults.before("updateBroadcast", async () => {
      calls++;
      if (calls === 2) (await w.service.cancel(b.id))._unsafeUnwrap();
    });

    expect((await w.service.start(b.id))._unsafeUnwrapErr()).toMatchObject({ type: "storage" });

    expect(await w.broadcast(b.id)).toMatchObject({ status: "cancelled", sentAt: null, sentCount: 0 });
    expect(w.queue.pending()).toEqual([]);
  });

  it("resume answers a storage error and leaves the broadcast paused", async () => {
    const b = await w.started(2);
    await w.service.pause(b.id);
    w.failNextEnqueue();

    const failed = (await w.service.resume(b.id))._unsafeUnwrapErr();

    expect(failed).toMatchObject({ type: "storage" });
    expect(await w.broadcast(b.id)).toMatchObject({ status: "paused", pauseReason: { type: "manual" } });
  });

  it("a retry answers a storage error and leaves the broadcast paused, so a resume sends the retried recipients", async () => {
    w.respondWith(() => ({ status: "failed", kind: "permanent", description: "Forbidden" }));
    const b = await w.started(2);
    await w.settle();
    w.failNextEnqueue();

    const failed = (await w.service.retryFailed(b.id, { includePermanent: true }))._unsafeUnwrapErr();

    expect(failed).toMatchObject({ type: "storage" });
    expect(await w.broadcast(b.id)).toMatchObject({ status: "paused", failedCount: 0 });

    w.respondWith(() => ({ status: "delivered" }));
    await w.service.resume(b.id);
    await w.settle();
    expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 2 });
  });

  it("a store failure during a transition answers a storage error and logs its cause", async () => {
    const b = await w.create(1);
    w.faults.failNext("updateBroadcast");

    expect((await w.service.cancel(b.id))._unsafeUnwrapErr()).toMatchObject({ type: "storage" });
    expect((await w.broadcast(b.id)).status).toBe("draft");
    expect(w.logs.find((log) => log.level === "error")?.fields).toMatchObject({
      operation: "updateBroadcast",
    });
  });
});

import { createBroadcastService } from "broadcastkit";
import { createMemoryQueue } from "broadcastkit/memory";
import { describe, expect, it } from "vitest";
import type { BroadcastStore } from "../../src/ports/store.js";
import { storeFactories } from "../support/stores.js";
import { makeWorld } from "./support/world.js";

describe("status changes that lose races", () => {
  it("re-read and decide again, answering conflict after five lost races", async () => {
    // A store where someone else always changes the status between our read and our write.
    const { store: inner, close } = await storeFactories[0]!.make();
    const created = await inner.createBroadcast(
      {
        message: { text: "Hi" },
        status: "draft",
        scheduledAt: null,
        createdBy: null,
        errorThreshold: null,
        createdAt: new Date(),
      },
      [{ recipientId: 1, chatId: 1 }],
    );
    let writes = 0;
    const store: BroadcastStore = {
      ...inner,
      getBroadcast: (id) => inner.getBroadcast(id),
      updateBroadcast: async () => {
        writes++;
        return { type: "status_changed", actual: "draft" };
      },
    };
    const service = createBroadcastService({ store, queue: createMemoryQueue() });

    const lost = (
      await service.pause(created.id).orElse(() => service.cancel(created.id))
    )._unsafeUnwrapErr();

    expect(lost).toEqual({ type: "conflict", broadcastId: created.id });
    expect(writes).toBe(5);
    await close();
  });

  describe.each(storeFactories)("on the $name store", (factory) => {
    it("of two starts racing, one wins, the other is refused, and one job is queued", async () => {
      const w = await makeWorld(factory);
      const b = await w.create(2);

      const results = await Promise.all([w.service.start(b.id), w.service.start(b.id)]);

      expect(results.filter((r) => r.isOk())).toHaveLength(1);
      expect(results.find((r) => r.isErr())?._unsafeUnwrapErr()).toEqual({
        type: "invalid_transition",
        broadcastId: b.id,
        from: "sending",
        to: "sending",
      });
      expect(w.queue.pending()).toHaveLength(1);
      await w.close();
    });

    it("of two retries racing, one retries each failed recipient once, the other meets sending and is refused", async () => {
      const w = await makeWorld(factory);
      w.respondWith(() => ({ status: "failed", kind: "permanent", description: "Forbidden" }));
      const b = await w.started(3);
      await w.settle();

      const results = await Promise.all([
        w.service.retryFailed(b.id, { includePermanent: true }),
        w.service.retryFailed(b.id, { includePermanent: true }),
      ]);

      expect(results.filter((r) => r.isOk()).map((r) => r._unsafeUnwrap().retriedCount)).toEqual([3]);
      expect(results.find((r) => r.isErr())?._unsafeUnwrapErr()).toEqual({
        type: "invalid_transition",
        broadcastId: b.id,
        from: "sending",
        to: "sending",
      });
      expect(w.queue.pending()).toHaveLength(1);
      await w.close();
    });
  });
});

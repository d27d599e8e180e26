import type { SendResult } from "broadcastkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { MINUTE, makeWorld, START, type World } from "./support/world.js";

const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The seed's example broadcast: 450 delivered, 40 failing on a network timeout, 10 held back by a day-long 429. */
const seedAnswers = (recipientId: number | string): SendResult => {
  const n = Number(recipientId);
  if (n <= 450) return { status: "delivered" };
  if (n <= 490) return { status: "failed", kind: "transient", description: "Network timeout" };
  return {
    status: "failed",
    kind: "transient",
    description: "Too Many Requests: retry after 86400",
    retryAfterMs: DAY,
  };
};

/** The seed's five test classes (test_broadcast_enhancements.py), through the service. */
describe.each(storeFactories)("seed scenarios on the $name store", (factory) => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld(factory);
  });
  afterEach(() => w.close());

  /** Sends the seed's example and lets every retry run for an hour: 10 recipients stay pending. */
  async function seedExample(): Promise<number> {
    w.respondWith((m) => seedAnswers(m.recipientId));
    const b = await w.started(500);
    await w.settle(new Date(START.getTime() + HOUR));
    return b.id;
  }

  /** A broadcast whose two recipients were one delivered and one failed: `completed`. */
  async function completedBroadcast(): Promise<number> {
    return (await w.reach("completed")).id;
  }

  describe("BroadcastProgress", () => {
    it("get progress returns correct stats", async () => {
      const id = await seedExample();

      const progress = (await w.service.getProgress(id))._unsafeUnwrap();

      expect(progress).toEqual({
        id,
        status: "sending",
        totalRecipients: 500,
        sentCount: 450,
        failedCount: 40,
        pendingCount: 10,
        cancelledCount: 0,
        progressPct: 90,
        processedPct: 98,
        errorSummary: "40 failed: Network timeout",
        createdAt: START,
        scheduledAt: null,
        sentAt: START,
        completedAt: null,
      });
    });

    it("get progress not found", async () => {
      const result = await w.service.getProgress(999);

      expect(result._unsafeUnwrapErr()).toEqual({ type: "not_found", broadcastId: 999 });
    });

    it("progress percentage calculation", async () => {
      const b = await w.started(7);
      await w.service.updateProgress(b.id, { sentCount: 2, failedCount: 1 });

      const progress = (await w.service.getProgress(b.id))._unsafeUnwrap();

      // floor(100 * 2 / 7) = 28 delivered, floor(100 * 3 / 7) = 42 processed: never rounded up.
      expect(progress).toMatchObject({ progressPct: 28, processedPct: 42, pendingCount: 4 });
    });

    it("progress with zero recipients", async () => {
      const b = await w.create(0);

      const progress = (await w.service.getProgress(b.id))._unsafeUnwrap();

      expect(progress).toMatchObject({
        totalRecipients: 0,
        sentCount: 0,
        failedCount: 0,
        pendingCount: 0,
        progressPct: 0,
        processedPct: 0,
        errorSummary: null,
      });
    });

    it("progress all sent", async () => {
      const b = await w.started(25);
      await w.settle();

      const progress = (await w.service.getProgress(b.id))._unsafeUnwrap();

      expect(progress).toMatchObject({
        status: "sent",
        sentCount: 25,
        failedCount: 0,
        pendingCount: 0,
        progressPct: 100,
        processedPct: 100,
        errorSummary: null,
        completedAt: START,
      });
    });
  });

  describe("BroadcastCancellation", () => {
    it("cancel broadcast success", async () => {
      const b = await w.started(5);
      w.clock.advance(MINUTE);

      const cancelled = (await w.service.cancel(b.id))._unsafeUnwrap();
      await w.settle();

      const at = new Date(START.getTime() + MINUTE);
      expect(cancelled).toEqual({ broadcastId: b.id, cancelledAt: at });
      expect(await w.broadcast(b.id)).toMatchObject({ status: "cancelled", completedAt: at, sentCount: 0 });
      expect(w.sender.calls).toHaveLength(0);
    });

    it("cancel non existent broadcast", async () => {
      expect((await w.service.cancel(999))._unsafeUnwrapErr()).toEqual({
        type: "not_found",
        broadcastId: 999,
      });
    });

    it("cannot cancel already sent broadcast", async () => {
      const b = await w.reach("sent");

      const refused = (await w.service.cancel(b.id))._unsafeUnwrapErr();

      expect(refused).toEqual({
        type: "invalid_transition",
        broadcastId: b.id,
        from: "sent",
        to: "cancelled",
      });
      expect((await w.broadcast(b.id)).status).toBe("sent");
    });

    it("cannot cancel completed broadcast", async () => {
      const id = await completedBroadcast();

      const refused = (await w.service.cancel(id))._unsafeUnwrapErr();

      expect(refused).toEqual({
        type: "invalid_transition",
        broadcastId: id,
        from: "completed",
        to: "cancelled",
      });
    });

    it("cannot cancel already cancelled broadcast", async () => {
      const b = await w.reach("cancelled");
      const before = await w.broadcast(b.id);

      const refused = (await w.service.cancel(b.id))._unsafeUnwrapErr();

      expect(refused).toEqual({
        type: "invalid_transition",
        broadcastId: b.id,
        from: "cancelled",
        to: "cancelled",
      });
      expect(await w.broadcast(b.id)).toEqual(before);
    });

    it("can cancel draft broadcast", async () => {
      const b = await w.create(3);

      const cancelled = (await w.service.cancel(b.id))._unsafeUnwrap();

      expect(cancelled).toEqual({ broadcastId: b.id, cancelledAt: START });
      expect((await w.broadcast(b.id)).status).toBe("cancelled");
    });
  });

  describe("BroadcastRetry", () => {
    /** 10 recipients: 6 delivered, 4 failed after their three automatic retries. */
    async function withTransientFailures(): Promise<number> {
      w.respondWith((m) =>
        Number(m.recipientId) <= 6
          ? { status: "delivered" }
          : { status: "failed", kind: "transient", description: "Network timeout" },
      );
      const b = await w.started(10);
      await w.settle();
      return b.id;
    }

    it("retry failed recipients", async () => {
      const id = await withTransientFailures();
      expect((await w.broadcast(id)).status).toBe("completed");
      w.respondWith(() => ({ status: "delivered" }));

      const retried = (await w.service.retryFailed(id))._unsafeUnwrap();

      const [job] = w.queue.pending();
      expect(retried).toEqual({ broadcastId: id, retriedCount: 4, skippedCount: 0, taskId: job?.jobId });
      expect(job?.job).toEqual({ broadcastId: id, onlyFailed: true });
      expect(await w.broadcast(id)).toMatchObject({ status: "sending", failedCount: 0, sentCount: 6 });

      await w.settle();
      expect(await w.broadcast(id)).toMatchObject({ status: "sent", sentCount: 10, failedCount: 0 });
    });

    it("retry no failed recipients", async () => {
      const b = await w.reach("sent");
      const before = await w.broadcast(b.id);

      const retried = (await w.service.retryFailed(b.id))._unsafeUnwrap();

      expect(retried).toEqual({ broadcastId: b.id, retriedCount: 0, skippedCount: 0, taskId: null });
      expect(w.queue.pending()).toEqual([]);
      expect(await w.broadcast(b.id)).toEqual(before);
    });

    it("retry non existent broadcast", async () => {
      expect((await w.service.retryFailed(999))._unsafeUnwrapErr()).toEqual({
        type: "not_found",
        broadcastId: 999,
      });
    });

    it("retry updates broadcast status", async () => {
      const id = await withTransientFailures();
      const before = await w.broadcast(id);
      expect(before.completedAt).not.toBeNull();

      await w.service.retryFailed(id);

      expect(await w.broadcast(id)).toMatchObject({
        status: "sending",
        completedAt: null,
        sentAt: before.sentAt,
      });
    });

    it("retry leaves permanent failures alone unless asked", async () => {
      const b = await w.reach("failed");

      const skipped = (await w.service.retryFailed(b.id))._unsafeUnwrap();
      expect(skipped).toEqual({ broadcastId: b.id, retriedCount: 0, skippedCount: 2, taskId: null });
      expect((await w.broadcast(b.id)).status).toBe("failed");

      const forced = (await w.service.retryFailed(b.id, { includePermanent: true }))._unsafeUnwrap();
      expect(forced).toMatchObject({ retriedCount: 2, skippedCount: 0 });
      expect((await w.broadcast(b.id)).status).toBe("sending");
    });
  });

  describe("BroadcastUpdateProgress", () => {
    it("update progress success", async () => {
      const b = await w.started(10);

      const updated = (
        await w.service.updateProgress(b.id, { sentCount: 3, failedCount: 1 })
      )._unsafeUnwrap();

      expect(updated).toMatchObject({ status: "sending", sentCount: 3, failedCount: 1 });
      expect(await w.broadcast(b.id)).toMatchObject({ sentCount: 3, failedCount: 1 });
    });

    it("update progress to completed", async () => {
      const b = await w.started(10);

      const updated = (
        await w.service.updateProgress(b.id, { sentCount: 8, failedCount: 2 })
      )._unsafeUnwrap();

      expect(updated).toMatchObject({ status: "completed", completedAt: START });
    });

    it("update progress to failed when all fail", async () => {
      const b = await w.started(10);

      const updated = (
        await w.service.updateProgress(b.id, { sentCount: 0, failedCount: 10 })
      )._unsafeUnwrap();

      expect(updated).toMatchObject({ status: "failed", completedAt: START });
    });

    it("update progress non existent broadcast", async () => {
      const refused = await w.service.updateProgress(999, { sentCount: 1, failedCount: 0 });

      expect(refused._unsafeUnwrapErr()).toEqual({ type: "not_found", broadcastId: 999 });
      expect((await w.service.list())._unsafeUnwrap().items).toEqual([]);
    });

    it("update progress stays sending if not complete", async () => {
      const b = await w.started(10);

      const updated = (
        await w.service.updateProgress(b.id, { sentCount: 5, failedCount: 4 })
      )._unsafeUnwrap();

      expect(updated).toMatchObject({ status: "sending", completedAt: null });
      expect((await w.service.getProgress(b.id))._unsafeUnwrap().pendingCount).toBe(1);
    });
  });

  /** The seed's endpoint tests, through the service the HTTP layer calls. */
  describe("BroadcastAPIEndpoints", () => {
    it("progress endpoint returns correct data", async () => {
      const id = await seedExample();

      const progress = (await w.service.getProgress(id))._unsafeUnwrap();

      expect(progress).toMatchObject({
        id,
        status: "sending",
        totalRecipients: 500,
        sentCount: 450,
        failedCount: 40,
        pendingCount: 10,
        progressPct: 90,
        errorSummary: "40 failed: Network timeout",
      });
    });

    it("progress endpoint not found", async () => {
      expect((await w.service.getProgress(404))._unsafeUnwrapErr().type).toBe("not_found");
    });

    it("cancel endpoint cancels broadcast", async () => {
      const b = await w.started(3);

      const cancelled = (await w.service.cancel(b.id))._unsafeUnwrap();

      expect(cancelled.broadcastId).toBe(b.id);
      expect((await w.broadcast(b.id)).status).toBe("cancelled");
    });

    it("cancel endpoint fails for completed", async () => {
      const id = await completedBroadcast();

      const refused = (await w.service.cancel(id))._unsafeUnwrapErr();

      expect(refused).toMatchObject({ type: "invalid_transition", from: "completed", to: "cancelled" });
    });

    it("retry endpoint queues retry", async () => {
      const id = await seedExample();
      // A day later the held-back 10 fail too: 450 delivered, 50 failed.
      w.respondWith(() => ({ status: "failed", kind: "transient", description: "Network timeout" }));
      await w.settle();
      expect(await w.broadcast(id)).toMatchObject({ status: "completed", failedCount: 50 });

      const retried = (await w.service.retryFailed(id))._unsafeUnwrap();

      expect(retried).toEqual({
        broadcastId: id,
        retriedCount: 50,
        skippedCount: 0,
        taskId: w.queue.pending()[0]?.jobId,
      });
      expect(retried.taskId).toEqual(expect.any(String));
    });

    it("retry endpoint no failed", async () => {
      const b = await w.reach("sent");

      const retried = (await w.service.retryFailed(b.id))._unsafeUnwrap();

      expect(retried).toMatchObject({ retriedCount: 0, taskId: null });
    });
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { MINUTE, makeWorld, recipientsFor, START, type World } from "./support/world.js";

describe.each(storeFactories)("processScheduled on the $name store", (factory) => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld(factory);
  });
  afterEach(() => w.close());

  const scheduleIn = async (minutes: number, recipients = 2) =>
    (
      await w.service.create({
        message: { text: "Hi" },
        recipients: recipientsFor(recipients),
        scheduledAt: new Date(START.getTime() + minutes * MINUTE),
      })
    )._unsafeUnwrap();

  it("starts every due scheduled broadcast and queues its send job; later ones wait", async () => {
    const first = await scheduleIn(1);
    const second = await scheduleIn(2);
    const later = await scheduleIn(60);
    w.clock.advance(5 * MINUTE);

    const result = (await w.service.processScheduled())._unsafeUnwrap();

    expect(result).toEqual({ found: 2, queued: 2, failed: 0 });
    expect((await w.broadcast(first.id)).status).toBe("sending");
    expect((await w.broadcast(second.id)).status).toBe("sending");
    expect((await w.broadcast(later.id)).status).toBe("scheduled");
    expect(w.queue.pending().map((p) => p.job.broadcastId)).toEqual([first.id, second.id]);
  });

  it("queues each due broadcast exactly once when ten runs race", async () => {
    const due = [await scheduleIn(1), await scheduleIn(1), await scheduleIn(2)];
    w.clock.advance(5 * MINUTE);

    const runs = await Promise.all(Array.from({ length: 10 }, () => w.service.processScheduled()));

    const results = runs.map((run) => run._unsafeUnwrap());
    expect(results.reduce((sum, r) => sum + r.queued, 0)).toBe(3);
    expect(results.reduce((sum, r) => sum + r.failed, 0)).toBe(0);
    expect(
      w.queue
        .pending()
        .map((p) => p.job.broadcastId)
        .sort(),
    ).toEqual(due.map((b) => b.id).sort());
    expect(w.events.filter((e) => e.type === "broadcast.started")).toHaveLength(3);
  });

  it("uses the time it is given", async () => {
    const b = await scheduleIn(10);
    const at = new Date(START.getTime() + 10 * MINUTE);

    expect((await w.service.processScheduled(new Date(at.getTime() - 1)))._unsafeUnwrap().found).toBe(0);
    expect((await w.service.processScheduled(at))._unsafeUnwrap()).toEqual({
      found: 1,
      queued: 1,
      failed: 0,
    });
    expect(await w.broadcast(b.id)).toMatchObject({ status: "sending", sentAt: at });
  });

  it("sends a due broadcast with zero recipients at once", async () => {
    const b = await scheduleIn(1, 0);
    w.clock.advance(MINUTE);

    await w.service.processScheduled();

    expect((await w.broadcast(b.id)).status).toBe("sent");
  });

  it("counts a job that cannot be queued as failed and leaves that broadcast scheduled for the next run", async () => {
    const b = await scheduleIn(1);
    w.clock.advance(MINUTE);
    w.failNextEnqueue();

    expect((await w.service.processScheduled())._unsafeUnwrap()).toEqual({ found: 1, queued: 0, failed: 1 });
    expect(await w.broadcast(b.id)).toMatchObject({ status: "scheduled", sentAt: null });

    expect((await w.service.processScheduled())._unsafeUnwrap()).toEqual({ found: 1, queued: 1, failed: 0 });
  });

  it("answers a storage error when the due broadcasts cannot be read", async () => {
    w.faults.failNext("findDueScheduled");

    expect((await w.service.processScheduled())._unsafeUnwrapErr()).toMatchObject({ type: "storage" });
  });

  it("does not start a broadcast that was unscheduled after it was found due", async () => {
    const b = await scheduleIn(1);
    w.clock.advance(MINUTE);
    w.faults.before("updateBroadcast", async () => {
      w.faults.before("updateBroadcast", () => {});
      (await w.service.unschedule(b.id))._unsafeUnwrap();
    });

    const result = (await w.service.processScheduled())._unsafeUnwrap();

    expect(result).toEqual({ found: 1, queued: 0, failed: 0 });
    expect((await w.broadcast(b.id)).status).toBe("draft");
    expect(w.queue.pending()).toEqual([]);
  });
});

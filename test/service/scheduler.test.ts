import { type BroadcastError, createScheduler, type ProcessScheduledResult } from "broadcastkit";
import { errAsync, ResultAsync } from "neverthrow";
import { afterEach, describe, expect, it, vi } from "vitest";
import { storeFactories } from "../support/stores.js";
import { MINUTE, makeWorld, recipientsFor, SECOND, START } from "./support/world.js";

const COUNTS: ProcessScheduledResult = { found: 1, queued: 1, failed: 0 };

/** A `processScheduled` whose runs finish only when the test says so. */
function controlledService() {
  const finishers: (() => void)[] = [];
  let runs = 0;
  const service = {
    processScheduled: (): ResultAsync<ProcessScheduledResult, BroadcastError> => {
      runs++;
      const finished = new Promise<void>((resolve) => finishers.push(resolve));
      return ResultAsync.fromSafePromise(finished.then(() => COUNTS));
    },
  };
  return {
    service,
    runs: () => runs,
    finishAll: () => {
      for (const finish of finishers.splice(0)) finish();
    },
  };
}

describe("the scheduler", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("skips a tick asked for while one runs: it joins the running tick's result", async () => {
    const controlled = controlledService();
    const scheduler = createScheduler({ service: controlled.service });

    const first = scheduler.tick();
    const second = scheduler.tick();
    controlled.finishAll();

    expect(controlled.runs()).toBe(1);
    expect((await first)._unsafeUnwrap()).toEqual({ scheduled: COUNTS, recovered: null });
    expect((await second)._unsafeUnwrap()).toEqual({ scheduled: COUNTS, recovered: null });
    scheduler.tick();
    expect(controlled.runs()).toBe(2);
    controlled.finishAll();
  });

  it("runs processScheduled every interval and never overlaps a slow tick", async () => {
    vi.useFakeTimers();
    const controlled = controlledService();
    const scheduler = createScheduler({ service: controlled.service, intervalMs: MINUTE });

    scheduler.start();
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(controlled.runs()).toBe(1);
    await vi.advanceTimersByTimeAsync(3 * MINUTE);
    expect(controlled.runs()).toBe(1);
    controlled.finishAll();
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(controlled.runs()).toBe(2);

    controlled.finishAll();
    await scheduler.stop();
  });

  it("stop waits for the running tick, and no tick runs after it", async () => {
    vi.useFakeTimers();
    const controlled = controlledService();
    const scheduler = createScheduler({ service: controlled.service, intervalMs: MINUTE });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(MINUTE);

    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    controlled.finishAll();
    await stopping;
    expect(stopped).toBe(true);

    await vi.advanceTimersByTimeAsync(10 * MINUTE);
    expect(controlled.runs()).toBe(1);
  });

  it("keeps ticking after a tick that failed or threw, and logs it", async () => {
    vi.useFakeTimers();
    const errors: string[] = [];
    let calls = 0;
    const service = {
      processScheduled: () => {
        calls++;
        if (calls === 1) throw new Error("bug");
        return errAsync({ type: "storage" as const, cause: new Error("db down") });
      },
    };
    const scheduler = createScheduler({
      service,
      intervalMs: MINUTE,
      logger: {
        debug: () => {},
        info: () => {},
        warn: () => {},
        error: (_f, message) => void errors.push(message ?? ""),
      },
    });

    scheduler.start();
    await vi.advanceTimersByTimeAsync(2 * MINUTE);
    await scheduler.stop();

    expect(calls).toBe(2);
    expect(errors).toEqual(["scheduler tick threw", "scheduler tick failed"]);
  });

  describe.each(storeFactories)("with the service on the $name store", (factory) => {
    it("a tick starts the broadcasts that are due", async () => {
      const w = await makeWorld(factory);
      const created = await w.service.create({
        message: { text: "Hi" },
        recipients: recipientsFor(1),
        scheduledAt: new Date(START.getTime() + MINUTE),
      });
      const scheduler = createScheduler({ service: w.service });
      w.clock.advance(MINUTE);

      const result = await scheduler.tick();

      expect(result._unsafeUnwrap()).toEqual({
        scheduled: { found: 1, queued: 1, failed: 0 },
        recovered: { checked: 1, queued: 1, failed: 0 },
      });
      expect((await w.broadcast(created._unsafeUnwrap().id)).status).toBe("sending");
      // The start and the recovery sweep asked for the same job: one waits.
      expect(w.queue.pending()).toHaveLength(1);
      await w.close();
    });

    it("a tick queues again a sending broadcast whose job was lost, once, and finishes it", async () => {
      const w = await makeWorld(factory);
      const b = await w.started(3);
      w.queue.clear();
      const scheduler = createScheduler({ service: w.service });

      const first = await scheduler.tick();
      const second = await scheduler.tick();

      expect(first._unsafeUnwrap().recovered).toEqual({ checked: 1, queued: 1, failed: 0 });
      expect(second._unsafeUnwrap().recovered).toEqual({ checked: 1, queued: 1, failed: 0 });
      expect(w.queue.pending()).toHaveLength(1);
      await w.settle();
      expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 3 });
      await w.close();
    });

    it("a tick leaves alone a broadcast somebody holds a live lease on, and takes it back once the lease expired", async () => {
      const w = await makeWorld(factory, { leaseMs: 30 * SECOND });
      const b = await w.started(2);
      w.queue.clear();
      await w.store.claimRecipients({
        broadcastId: b.id,
        owner: "a worker that died",
        limit: 10,
        now: w.clock.now(),
        leaseMs: 30 * SECOND,
        onlyFailed: false,
      });
      const scheduler = createScheduler({ service: w.service });

      expect((await scheduler.tick())._unsafeUnwrap().recovered).toEqual({
        checked: 1,
        queued: 0,
        failed: 0,
      });
      w.clock.advance(30 * SECOND);
      expect((await scheduler.tick())._unsafeUnwrap().recovered).toEqual({
        checked: 1,
        queued: 1,
        failed: 0,
      });
      await w.settle();
      expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 2 });
      await w.close();
    });

    it("a tick settles a sending broadcast with nobody pending whose last run died before settling it", async () => {
      const w = await makeWorld(factory);
      const b = await w.started(1);
      w.queue.clear();
      const claim = await w.store.claimRecipients({
        broadcastId: b.id,
        owner: "a worker that died",
        limit: 10,
        now: w.clock.now(),
        leaseMs: 30 * SECOND,
        onlyFailed: false,
      });
      await w.store.recordOutcomes({
        broadcastId: b.id,
        epoch: claim.epoch,
        outcomes: [{ type: "delivered", recipientId: 1, attempts: 1, messageId: 1 }],
        now: w.clock.now(),
        errorLogLimit: 10,
      });
      const scheduler = createScheduler({ service: w.service });

      expect((await scheduler.tick())._unsafeUnwrap().recovered).toMatchObject({ queued: 1 });
      await w.settle();
      expect(await w.broadcast(b.id)).toMatchObject({ status: "sent", sentCount: 1 });
      await w.close();
    });
  });
});

import { type BroadcastError, createScheduler, type ProcessScheduledResult } from "broadcastkit";
import { errAsync, ResultAsync } from "neverthrow";
import { afterEach, describe, expect, it, vi } from "vitest";
import { storeFactories } from "../support/stores.js";
import { MINUTE, makeWorld, recipientsFor, START } from "./support/world.js";

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
    expect((await first)._unsafeUnwrap()).toEqual(COUNTS);
    expect((await second)._unsafeUnwrap()).toEqual(COUNTS);
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

      expect(result._unsafeUnwrap()).toEqual({ found: 1, queued: 1, failed: 0 });
      expect((await w.broadcast(created._unsafeUnwrap().id)).status).toBe("sending");
      await w.close();
    });
  });
});

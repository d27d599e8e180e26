import { type BroadcastKitEvent, createBroadcastService, type Logger } from "broadcastkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { makeWorld, type World } from "./support/world.js";

describe.each(storeFactories)("events on the $name store", (factory) => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld(factory);
  });
  afterEach(() => w.close());

  it("announces start, each failed recipient and completion, in order, with the final counters", async () => {
    w.respondWith((m) =>
      m.recipientId === 2
        ? { status: "failed", kind: "permanent", description: "Bad Request: chat not found" }
        : { status: "delivered" },
    );
    const b = await w.started(3);

    await w.settle();

    expect(w.events).toEqual([
      { type: "broadcast.started", broadcastId: b.id, at: expect.any(Date) },
      {
        type: "recipient.failed",
        broadcastId: b.id,
        at: expect.any(Date),
        recipientId: 2,
        error: "Bad Request: chat not found",
        kind: "permanent",
      },
      {
        type: "broadcast.completed",
        broadcastId: b.id,
        at: expect.any(Date),
        status: "completed",
        totalRecipients: 3,
        sentCount: 2,
        failedCount: 1,
      },
    ]);
  });

  it("announces pause, resume and cancel only once each change is stored", async () => {
    const b = await w.started(2);
    const seen: Promise<[string, string | undefined]>[] = [];
    const service = createBroadcastService({
      store: w.store,
      queue: w.queue,
      clock: w.clock,
      events: {
        emit: (event) => {
          seen.push(w.store.getBroadcast(event.broadcastId).then((stored) => [event.type, stored?.status]));
        },
      },
    });

    // Each read starts when its event is emitted; waiting for it before the next command keeps
    // that command's change out of what the read sees (on PostgreSQL it could overtake it).
    await service.pause(b.id);
    await Promise.all(seen);
    await service.resume(b.id);
    await Promise.all(seen);
    await service.cancel(b.id);

    expect(await Promise.all(seen)).toEqual([
      ["broadcast.paused", "paused"],
      ["broadcast.resumed", "sending"],
      ["broadcast.cancelled", "cancelled"],
    ]);
  });

  it("announces nothing for a refused change", async () => {
    const b = await w.create(1);
    const before = w.events.length;

    await w.service.pause(b.id);
    await w.service.resume(b.id);

    expect(w.events).toHaveLength(before);
  });

  it("logs and ignores a listener that throws or rejects: the change stands", async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (_fields, message) => void warnings.push(message ?? ""),
      error: () => {},
    };
    let calls = 0;
    const service = createBroadcastService({
      store: w.store,
      queue: w.queue,
      clock: w.clock,
      logger,
      events: {
        emit: (_event: BroadcastKitEvent) => {
          calls++;
          if (calls === 1) throw new Error("listener bug");
          return Promise.reject(new Error("webhook down"));
        },
      },
    });
    const b = await w.started(2);

    expect((await service.pause(b.id)).isOk()).toBe(true);
    expect((await service.cancel(b.id)).isOk()).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));

    expect((await w.broadcast(b.id)).status).toBe("cancelled");
    expect(warnings).toEqual(["event listener failed", "event listener failed"]);
  });

  it("keeps working with a logger that throws", async () => {
    const throwing = () => {
      throw new Error("log sink full");
    };
    const service = createBroadcastService({
      store: w.store,
      queue: w.queue,
      clock: w.clock,
      logger: { debug: throwing, info: throwing, warn: throwing, error: throwing },
    });
    const b = await w.create(1);

    expect((await service.start(b.id)).isOk()).toBe(true);
  });
});

import {
  type BroadcastStore,
  createBroadcastService,
  createSendWorker,
  createStatusSignals,
  type MessageSender,
  type OutgoingMessage,
  type SendOptions,
  type SendResult,
} from "broadcastkit";
import { createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { describe, expect, it } from "vitest";
import { recipientsFor } from "./support/world.js";

/**
 * The worker on the system clock and real timers: what only shows over time. Short runs; nothing
 * here asserts how fast, only what happens in what order.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sender whose every answer takes `ms`, counting how many calls overlap. */
function slowSender(ms: number) {
  let inFlight = 0;
  let mostInFlight = 0;
  const calls: OutgoingMessage[] = [];
  const sender: MessageSender = {
    async send(message) {
      calls.push(message);
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await sleep(ms);
      inFlight--;
      return { status: "delivered" };
    },
  };
  return { sender, calls, mostInFlight: () => mostInFlight };
}

async function sendingBroadcast(store: BroadcastStore, count: number) {
  const queue = createMemoryQueue();
  const service = createBroadcastService({ store, queue });
  const created = (
    await service.create({ message: { text: "Hi" }, recipients: recipientsFor(count) })
  )._unsafeUnwrap();
  (await service.start(created.id))._unsafeUnwrap();
  return { service, queue, id: created.id, job: { broadcastId: created.id, onlyFailed: false } };
}

describe("the send worker over real time", () => {
  it("never has more than `concurrency` sends in flight, and uses all of them", async () => {
    const store = createMemoryStore();
    const { queue, job } = await sendingBroadcast(store, 40);
    const slow = slowSender(10);
    const worker = createSendWorker({ store, queue, sender: slow.sender, concurrency: 5, batchSize: 7 });

    const run = (await worker.handle(job))._unsafeUnwrap();

    expect(run).toMatchObject({ stoppedBecause: "finished", delivered: 40 });
    expect(slow.mostInFlight()).toBe(5);
    expect(slow.calls.map((call) => call.recipientId)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("writes settled outcomes every flushIntervalMs, long before batchSize have settled", async () => {
    const store = createMemoryStore();
    const { service, queue, id, job } = await sendingBroadcast(store, 30);
    const slow = slowSender(20);
    const worker = createSendWorker({
      store,
      queue,
      sender: slow.sender,
      concurrency: 1,
      batchSize: 100,
      flushIntervalMs: 50,
    });

    const running = worker.handle(job);
    await sleep(300);
    const midway = (await service.getProgress(id))._unsafeUnwrap();
    await running;

    // About 15 sends have settled by now; with only the count trigger none would be written yet.
    expect(midway.sentCount).toBeGreaterThan(0);
    expect(midway.sentCount).toBeLessThan(30);
    expect(midway.sentCount).toBeLessThanOrEqual(slow.calls.length);
  });

  it("renews its leases while it holds them: two workers with leases shorter than a claim's sending never send twice", async () => {
    const store = createMemoryStore();
    const { service, queue, id, job } = await sendingBroadcast(store, 40);
    const slow = slowSender(15);
    const options = { store, queue, sender: slow.sender, concurrency: 1, batchSize: 10, leaseMs: 90 };
    const first = createSendWorker({ ...options, workerId: "first" });
    const second = createSendWorker({ ...options, workerId: "second" });

    // A claim of 10 takes ~150 ms to send, and one is taken ahead: without renewals the leases
    // (90 ms) would expire mid-claim and the other worker would take the recipients over.
    const runs = await Promise.all([first.handle(job), sleep(20).then(() => second.handle(job))]);

    const sentTo = slow.calls.map((call) => Number(call.recipientId)).sort((a, b) => a - b);
    expect(sentTo).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect((await service.getProgress(id))._unsafeUnwrap()).toMatchObject({ status: "sent", sentCount: 40 });
    expect(runs.every((run) => run.isOk())).toBe(true);
  });

  it("stops within statusPollMs when another process cancels (no shared signals), and the cancel waits for its sends", async () => {
    const store = createMemoryStore();
    const { queue, id, job } = await sendingBroadcast(store, 200);
    const slow = slowSender(10);
    const worker = createSendWorker({ store, queue, sender: slow.sender, concurrency: 2, statusPollMs: 30 });
    const elsewhere = createBroadcastService({ store, queue: createMemoryQueue() });

    const running = worker.handle(job);
    await sleep(100);
    const cancelled = (await elsewhere.cancel(id))._unsafeUnwrap();
    const callsWhenCancelAnswered = slow.calls.length;
    const atCancel = (await elsewhere.getProgress(id))._unsafeUnwrap();
    const run = (await running)._unsafeUnwrap();

    expect(cancelled.broadcastId).toBe(id);
    expect(run).toMatchObject({ stoppedBecause: "not_sending", status: "cancelled" });
    // Nothing started once the cancel had answered, and the counts it left are final.
    expect(slow.calls.length).toBe(callsWhenCancelAnswered);
    expect(atCancel).toMatchObject({
      sentCount: callsWhenCancelAnswered,
      cancelledCount: 200 - callsWhenCancelAnswered,
    });
    expect((await elsewhere.getProgress(id))._unsafeUnwrap()).toEqual(atCancel);
    expect(callsWhenCancelAnswered).toBeLessThan(200);
  });

  it("a sender still waiting for its turn gives up when the run stops: not_sent leaves the recipient pending", async () => {
    const store = createMemoryStore();
    const signals = createStatusSignals();
    const { id, job } = await sendingBroadcast(store, 10);
    const queue = createMemoryQueue();
    const service = createBroadcastService({ store, queue, signals });
    let delivered = 0;
    const gated: MessageSender = {
      // Recipient 1 goes out; every other call waits for a turn that never comes, unless aborted.
      async send(message: OutgoingMessage, options?: SendOptions): Promise<SendResult> {
        if (message.recipientId === 1) {
          delivered++;
          return { status: "delivered" };
        }
        const signal = options?.signal;
        await new Promise<void>((resolve) => {
          if (signal?.aborted) resolve();
          signal?.addEventListener("abort", () => resolve(), { once: true });
        });
        return { status: "not_sent" };
      },
    };
    const worker = createSendWorker({ store, queue, sender: gated, signals, concurrency: 4 });

    const running = worker.handle(job);
    await sleep(50);
    (await service.pause(id))._unsafeUnwrap();
    const run = (await running)._unsafeUnwrap();

    expect(run).toMatchObject({ stoppedBecause: "not_sending", delivered: 1 });
    expect((await service.getProgress(id))._unsafeUnwrap()).toMatchObject({
      status: "paused",
      sentCount: 1,
      pendingCount: 9,
    });
    const recipients = (await service.listRecipients(id, { limit: 20 }))._unsafeUnwrap().items;
    expect(
      recipients.filter((r) => r.state === "pending").every((r) => r.attempts === 0 && r.lastError === null),
    ).toBe(true);
    expect(delivered).toBe(1);
  });

  it("close() lets sends in flight finish and be written, releases the rest, and queues the job again", async () => {
    const store = createMemoryStore();
    const { service, id, job } = await sendingBroadcast(store, 100);
    const queue = createMemoryQueue();
    const slow = slowSender(20);
    const worker = createSendWorker({ store, queue, sender: slow.sender, concurrency: 3 });

    const running = worker.handle(job);
    await sleep(70);
    await worker.close();
    const run = (await running)._unsafeUnwrap();
    const progress = (await service.getProgress(id))._unsafeUnwrap();

    expect(run).toMatchObject({ stoppedBecause: "closed", status: "sending" });
    expect(progress).toMatchObject({ status: "sending", sentCount: slow.calls.length });
    expect((await store.getActivity(id, new Date()))?.leased).toBe(false);
    expect(queue.pending()).toEqual([expect.objectContaining({ job })]);
    const later = (await worker.handle(job))._unsafeUnwrap();
    expect(later.stoppedBecause).toBe("closed");
  });
});

import {
  type Broadcast,
  type BroadcastKitEvent,
  type BroadcastService,
  type BroadcastStatus,
  type BroadcastStore,
  createBroadcastService,
  createSendWorker,
  createStatusSignals,
  type Logger,
  type NewRecipient,
  type OutgoingMessage,
  type Recipient,
  type SendResult,
  type SendWorker,
  type SendWorkerOptions,
  type StatusSignals,
} from "broadcastkit";
import { createFakeSender, createMemoryQueue, type FakeSender, type MemoryQueue } from "broadcastkit/memory";
import { createManualClock, type ManualClock } from "broadcastkit/testing";
import type { StoreFactory } from "../../support/stores.js";
import { type StoreFaults, withQueueFaults, withStoreFaults } from "./faults.js";

export const START = new Date("2024-12-27T10:00:00.000Z");
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;

export type Respond = (message: OutgoingMessage, callIndex: number) => SendResult | Promise<SendResult>;

export interface LogEntry {
  readonly level: keyof Logger;
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

/** One store from the factory list, wired to the real service and worker, a memory queue, a fake sender and a manual clock. */
export interface World {
  /** The factory's store behind the fault injector. */
  readonly store: BroadcastStore;
  readonly service: BroadcastService;
  readonly worker: SendWorker;
  readonly queue: MemoryQueue;
  readonly clock: ManualClock;
  readonly sender: FakeSender;
  readonly faults: StoreFaults;
  /** Every event the service and worker emitted, in order. */
  readonly events: BroadcastKitEvent[];
  readonly logs: LogEntry[];
  /** Shared by the service and the worker. */
  readonly signals: StatusSignals;
  failNextEnqueue(times?: number): void;
  /** How the fake sender answers; by default every message is delivered. */
  respondWith(respond: Respond): void;
  /** A broadcast with recipients 1..count (chat ids 1001..), or the given ones. */
  create(
    recipients: number | NewRecipient[],
    options?: { text?: string; errorThreshold?: number },
  ): Promise<Broadcast>;
  /** Created and started (its send job queued, not yet run). */
  started(
    recipients: number | NewRecipient[],
    options?: { text?: string; errorThreshold?: number },
  ): Promise<Broadcast>;
  broadcast(id: number): Promise<Broadcast>;
  recipients(id: number): Promise<Recipient[]>;
  /** Runs every job due now, and those they queue for now. */
  runJobs(): Promise<void>;
  /** Runs jobs, moving the clock to each next due job, until no job waits (or the next is due after `until`). */
  settle(until?: Date): Promise<void>;
  /** Drives a broadcast with two recipients into `status` by the public API only. */
  reach(status: BroadcastStatus): Promise<Broadcast>;
  close(): Promise<void>;
}

export const recipientsFor = (count: number): NewRecipient[] =>
  Array.from({ length: count }, (_, i) => ({ recipientId: i + 1, chatId: 1000 + i + 1 }));

export async function makeWorld(
  factory: StoreFactory,
  workerOptions: Partial<SendWorkerOptions> = {},
): Promise<World> {
  const made = await factory.make();
  const { store, faults } = withStoreFaults(made.store);
  const clock = createManualClock(START);
  const faultyQueue = withQueueFaults(createMemoryQueue({ clock }));
  const queue = faultyQueue.queue;
  let respond: Respond | undefined;
  const sender = createFakeSender({
    respond: (message, index) =>
      respond === undefined ? { status: "delivered", messageId: index + 1 } : respond(message, index),
  });
  const events: BroadcastKitEvent[] = [];
  const logs: LogEntry[] = [];
  const log =
    (level: keyof Logger) =>
    (fields: object, message?: string): void => {
      logs.push({ level, fields: fields as Record<string, unknown>, message });
    };
  const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  const sink = { emit: (event: BroadcastKitEvent) => void events.push(event) };
  // As the composition root wires them: this process's worker hears of a cancel or pause at once.
  const signals = createStatusSignals();
  const service = createBroadcastService({ store, queue, clock, logger, events: sink, signals });
  const worker = createSendWorker({
    store,
    queue,
    sender,
    clock,
    logger,
    events: sink,
    signals,
    ...workerOptions,
  });
  queue.consume((job, context) => worker.handle(job, context));

  const world: World = {
    store,
    service,
    worker,
    queue,
    clock,
    sender,
    faults,
    events,
    logs,
    signals,
    failNextEnqueue: faultyQueue.failNextEnqueue,
    respondWith(next) {
      respond = next;
    },
    async create(recipients, options = {}) {
      const created = await service.create({
        message: { text: options.text ?? "Hello" },
        recipients: typeof recipients === "number" ? recipientsFor(recipients) : recipients,
        ...(options.errorThreshold === undefined ? {} : { errorThreshold: options.errorThreshold }),
      });
      return created._unsafeUnwrap();
    },
    async started(recipients, options) {
      const created = await world.create(recipients, options);
      return (await service.start(created.id))._unsafeUnwrap();
    },
    async broadcast(id) {
      return (await service.get(id))._unsafeUnwrap();
    },
    async recipients(id) {
      return [...(await service.listRecipients(id, { limit: 1000 }))._unsafeUnwrap().items];
    },
    runJobs: () => queue.drain(),
    async settle(until) {
      for (let round = 0; round < 200; round++) {
        await queue.drain();
        const [next] = queue.pending();
        if (next === undefined || (until !== undefined && next.dueAt > until)) return;
        if (next.dueAt > clock.now()) clock.set(next.dueAt);
      }
      throw new Error("settle: jobs kept coming back after 200 rounds");
    },
    async reach(status) {
      const failing =
        (answer: (m: OutgoingMessage) => boolean): Respond =>
        (m) =>
          answer(m)
            ? { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" }
            : { status: "delivered" };
      switch (status) {
        case "draft":
          return world.create(2);
        case "scheduled": {
          const at = new Date(clock.now().getTime() + 60 * MINUTE);
          const created = await service.create({
            message: { text: "Hello" },
            recipients: recipientsFor(2),
            scheduledAt: at,
          });
          return created._unsafeUnwrap();
        }
        case "sending":
          return world.started(2);
        case "paused": {
          const b = await world.started(2);
          return (await service.pause(b.id))._unsafeUnwrap();
        }
        case "cancelled": {
          const b = await world.create(2);
          await service.cancel(b.id);
          return world.broadcast(b.id);
        }
        case "sent":
        case "completed":
        case "failed": {
          const b = await world.started(2);
          world.respondWith(
            failing((m) => (status === "failed" ? true : status === "completed" && m.recipientId === 2)),
          );
          await world.settle();
          world.respondWith((_m, i) => ({ status: "delivered", messageId: i + 1 }));
          return world.broadcast(b.id);
        }
      }
    },
    async close() {
      queue.close();
      await made.close();
    },
  };
  return world;
}

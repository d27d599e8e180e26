import {
  type Broadcast,
  type BroadcastError,
  type BroadcastService,
  type BroadcastStore,
  createBroadcastService,
  createSendWorker,
  type NewRecipient,
  type OutgoingMessage,
  type Recipient,
  type SendResult,
  type SendWorker,
  type SendWorkerOptions,
} from "broadcastkit";
import { createFakeSender, createMemoryQueue, type FakeSender, type MemoryQueue } from "broadcastkit/memory";
import { createManualClock, type ManualClock } from "broadcastkit/testing";
import type { Result } from "neverthrow";
import type { StoreFactory } from "../../support/stores.js";

export const START = new Date("2030-01-01T00:00:00.000Z");
export const LEASE_MS = 5 * 60_000;

/** `npm run test:soak` gives the SQL stores as many runs as the memory store. */
const soak = process.env.BROADCASTKIT_SOAK === "1";

/** Property runs per store: the memory store is cheap, the others pay for real I/O. */
export const runsFor = (factory: StoreFactory, memoryRuns: number, otherRuns = 20): number =>
  factory.name === "memory" || soak ? memoryRuns : otherRuns;

/** The value of an `Ok`; an `Err` fails the test with the error spelled out. */
export function unwrap<T>(result: Result<T, BroadcastError>): T {
  if (result.isErr()) throw new Error(`expected Ok, got ${JSON.stringify(result.error)}`);
  return result.value;
}

/** How one recipient's chat answers, as a test double of Telegram. */
export type Behaviour =
  /** Delivered at once. */
  | "ok"
  /** 403 bot was blocked: a permanent failure. */
  | "blocked"
  /** Times out on every call: transient, forever. */
  | "down"
  /** Times out on its first call, then delivered. */
  | "flaky"
  /** A 429 with retry_after 30 s on its first call, then delivered. */
  | "throttled"
  /** The platform refuses the message itself on this chat's first call, then delivers. */
  | "content";

export const RETRY_AFTER_MS = 30_000;
export const TIMEOUT = "Network timeout";
export const BLOCKED = "Forbidden: bot was blocked by the user";
export const UNPARSABLE = "Bad Request: can't parse entities";

/** The answer a chat with `behaviour` gives to its `call`-th message (0-based). */
export function answerOf(behaviour: Behaviour, call: number): Exclude<SendResult, { status: "not_sent" }> {
  switch (behaviour) {
    case "ok":
      return { status: "delivered", messageId: call + 1 };
    case "blocked":
      return { status: "failed", kind: "permanent", description: BLOCKED };
    case "down":
      return { status: "failed", kind: "transient", description: TIMEOUT };
    case "flaky":
      return call === 0
        ? { status: "failed", kind: "transient", description: TIMEOUT }
        : { status: "delivered", messageId: call + 1 };
    case "throttled":
      return call === 0
        ? {
            status: "failed",
            kind: "transient",
            description: "Too Many Requests: retry after 30",
            retryAfterMs: RETRY_AFTER_MS,
          }
        : { status: "delivered", messageId: call + 1 };
    case "content":
      return call === 0
        ? { status: "failed", kind: "content", description: UNPARSABLE }
        : { status: "delivered", messageId: call + 1 };
  }
}

/** Recipients 1..n with chat ids 1001..; recipient i behaves as `behaviours[i - 1]`. */
export const recipientsFor = (count: number): NewRecipient[] =>
  Array.from({ length: count }, (_, i) => ({ recipientId: i + 1, chatId: 1000 + i + 1 }));

/** A fake sender whose answers follow each recipient's behaviour and how often its chat was called. */
export function behavingSender(behaviours: readonly Behaviour[]): FakeSender {
  const callsPerChat = new Map<number | string, number>();
  return createFakeSender({
    respond: (message: OutgoingMessage) => {
      const call = callsPerChat.get(message.chatId) ?? 0;
      callsPerChat.set(message.chatId, call + 1);
      const behaviour = behaviours[Number(message.chatId) - 1001];
      if (behaviour === undefined) throw new Error(`messaged a chat outside the list: ${message.chatId}`);
      return answerOf(behaviour, call);
    },
  });
}

/** Calls per recipient id, as the sender saw them. */
export function callsPerRecipient(sender: FakeSender): Map<number | string, number> {
  const counts = new Map<number | string, number>();
  for (const call of sender.calls) counts.set(call.recipientId, (counts.get(call.recipientId) ?? 0) + 1);
  return counts;
}

export interface Rig {
  readonly store: BroadcastStore;
  readonly clock: ManualClock;
  readonly queue: MemoryQueue;
  readonly service: BroadcastService;
  workerWith(
    sender: FakeSender | SendWorkerOptions["sender"],
    options?: Partial<SendWorkerOptions>,
  ): SendWorker;
  recipients(id: number): Promise<Recipient[]>;
  broadcast(id: number): Promise<Broadcast>;
}

/** The real service and worker on `store`, with a memory queue and a manual clock. */
export function rig(store: BroadcastStore): Rig {
  const clock = createManualClock(START);
  const queue = createMemoryQueue({ clock });
  const service = createBroadcastService({ store, queue, clock });
  return {
    store,
    clock,
    queue,
    service,
    workerWith: (sender, options = {}) =>
      createSendWorker({ store, queue, sender, clock, leaseMs: LEASE_MS, ...options }),
    recipients: async (id) => {
      const items: Recipient[] = [];
      let cursor: string | undefined;
      do {
        const page = unwrap(
          await service.listRecipients(id, cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor }),
        );
        items.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return items;
    },
    broadcast: async (id) => unwrap(await service.get(id)),
  };
}

/** Makes a store, runs `body` with it, and always closes it. */
export async function withStore<T>(
  factory: StoreFactory,
  body: (store: BroadcastStore) => Promise<T>,
): Promise<T> {
  const { store, close } = await factory.make();
  try {
    return await body(store);
  } finally {
    await close();
  }
}

/** A promise that never settles: how a test kills a worker mid-step (it is simply abandoned). */
export const never = <T>(): Promise<T> => new Promise<T>(() => {});

/**
 * The same store, telling `seen` every broadcast state it stores or hands out, in order: the
 * states a poller of progress could observe.
 */
export function observedStore(inner: BroadcastStore, seen: (broadcast: Broadcast) => void): BroadcastStore {
  return {
    createBroadcast: async (input, recipients) => {
      const created = await inner.createBroadcast(input, recipients);
      seen(created);
      return created;
    },
    appendRecipients: async (id, recipients) => {
      const result = await inner.appendRecipients(id, recipients);
      if (result.type === "appended") seen(result.broadcast);
      return result;
    },
    getBroadcast: async (id) => {
      const found = await inner.getBroadcast(id);
      if (found !== null) seen(found);
      return found;
    },
    listBroadcasts: (query) => inner.listBroadcasts(query),
    listRecipients: (id, query) => inner.listRecipients(id, query),
    updateBroadcast: async (id, expected, patch, at) => {
      const result = await inner.updateBroadcast(id, expected, patch, at);
      if (result.type === "updated") seen(result.broadcast);
      return result;
    },
    findDueScheduled: (now, limit) => inner.findDueScheduled(now, limit),
    claimRecipients: (request) => inner.claimRecipients(request),
    recordOutcomes: async (request) => {
      const result = await inner.recordOutcomes(request);
      if (result.type === "recorded") seen(result.broadcast);
      return result;
    },
    renewLease: (request) => inner.renewLease(request),
    getActivity: (id, now) => inner.getActivity(id, now),
    resetFailedRecipients: async (request) => {
      const result = await inner.resetFailedRecipients(request);
      if (result.type === "reset") seen(result.broadcast);
      return result;
    },
    claimWebhookDeliveries: (request) => inner.claimWebhookDeliveries(request),
    recordWebhookDelivery: (request) => inner.recordWebhookDelivery(request),
    listWebhookDeliveries: (query) => inner.listWebhookDeliveries(query),
  };
}

/** Runs due jobs, moving the clock to each next due job, until no job waits. */
export async function runToTheEnd(r: Rig, maxRounds = 500): Promise<void> {
  for (let round = 0; round < maxRounds; round++) {
    await r.queue.drain();
    const [next] = r.queue.pending();
    if (next === undefined) return;
    if (next.dueAt > r.clock.now()) r.clock.set(next.dueAt);
  }
  throw new Error(`jobs kept coming back after ${maxRounds} rounds`);
}

/** What happened, in the order it happened, across every actor of a race. */
export type RaceEvent =
  | { readonly seq: number; readonly actor: string; readonly type: "read"; readonly status: string | null }
  | {
      readonly seq: number;
      readonly actor: string;
      readonly type: "claim";
      readonly ids: readonly (number | string)[];
    }
  | { readonly seq: number; readonly actor: string; readonly type: "record"; readonly recorded: boolean }
  | { readonly seq: number; readonly actor: string; readonly type: "status"; readonly status: string }
  | {
      readonly seq: number;
      readonly actor: string;
      readonly type: "send";
      readonly recipientId: number | string;
    }
  | {
      readonly seq: number;
      readonly actor: string;
      readonly type: "sent";
      readonly recipientId: number | string;
    };

type WithoutSeq<T> = T extends unknown ? Omit<T, "seq"> : never;

export class RaceLog {
  readonly events: RaceEvent[] = [];
  /** `onEvent` sees each event as it is logged: a race can start an actor at a chosen moment. */
  constructor(private readonly onEvent: (event: RaceEvent) => void = () => {}) {}
  add(event: WithoutSeq<RaceEvent>): void {
    const logged = { ...event, seq: this.events.length } as RaceEvent;
    this.events.push(logged);
    this.onEvent(logged);
  }
}

interface Gate {
  /** Resolves when the race's scheduler lets this step go on. */
  schedule<T>(task: Promise<T>, label?: string): Promise<T>;
}

/**
 * `inner` seen by one actor of a race: every call waits for the scheduler first, so the race
 * explores every order of the actors' steps; what each call returned goes to `log`.
 */
export function racingStore(inner: BroadcastStore, gate: Gate, actor: string, log: RaceLog): BroadcastStore {
  const step = (name: string) => gate.schedule(Promise.resolve(), `${actor}:${name}`);
  return {
    createBroadcast: async (input, recipients) => {
      await step("createBroadcast");
      return inner.createBroadcast(input, recipients);
    },
    appendRecipients: async (id, recipients) => {
      await step("appendRecipients");
      return inner.appendRecipients(id, recipients);
    },
    getBroadcast: async (id) => {
      await step("getBroadcast");
      const found = await inner.getBroadcast(id);
      log.add({ actor, type: "read", status: found?.status ?? null });
      return found;
    },
    listBroadcasts: async (query) => {
      await step("listBroadcasts");
      return inner.listBroadcasts(query);
    },
    listRecipients: async (id, query) => {
      await step("listRecipients");
      return inner.listRecipients(id, query);
    },
    updateBroadcast: async (id, expected, patch, at) => {
      await step("updateBroadcast");
      const result = await inner.updateBroadcast(id, expected, patch, at);
      if (result.type === "updated") log.add({ actor, type: "status", status: result.broadcast.status });
      return result;
    },
    findDueScheduled: async (now, limit) => {
      await step("findDueScheduled");
      return inner.findDueScheduled(now, limit);
    },
    claimRecipients: async (request) => {
      await step("claimRecipients");
      const claimed = await inner.claimRecipients(request);
      log.add({ actor, type: "claim", ids: claimed.recipients.map((x) => x.recipientId) });
      return claimed;
    },
    recordOutcomes: async (request) => {
      await step("recordOutcomes");
      const result = await inner.recordOutcomes(request);
      log.add({ actor, type: "record", recorded: result.type === "recorded" });
      return result;
    },
    renewLease: async (request) => {
      await step("renewLease");
      return inner.renewLease(request);
    },
    getActivity: async (id, now) => {
      await step("getActivity");
      return inner.getActivity(id, now);
    },
    resetFailedRecipients: async (request) => {
      await step("resetFailedRecipients");
      const result = await inner.resetFailedRecipients(request);
      if (result.type === "reset") log.add({ actor, type: "status", status: result.broadcast.status });
      return result;
    },
    claimWebhookDeliveries: (request) => inner.claimWebhookDeliveries(request),
    recordWebhookDelivery: (request) => inner.recordWebhookDelivery(request),
    listWebhookDeliveries: (query) => inner.listWebhookDeliveries(query),
  };
}

/** `inner` for one actor of a race: each send waits for the scheduler, then is logged as it starts and ends. */
export function racingSender(
  inner: SendWorkerOptions["sender"],
  gate: Gate,
  actor: string,
  log: RaceLog,
): SendWorkerOptions["sender"] {
  return {
    send: async (message) => {
      await gate.schedule(Promise.resolve(), `${actor}:send`);
      log.add({ actor, type: "send", recipientId: message.recipientId });
      const result = await inner.send(message);
      log.add({ actor, type: "sent", recipientId: message.recipientId });
      return result;
    },
  };
}

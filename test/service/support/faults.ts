import type { JobQueue } from "../../../src/ports/queue.js";
import type { BroadcastStore } from "../../../src/ports/store.js";

export type StoreOperation = keyof BroadcastStore;

/**
 * Wraps any store so a test can make its next call of one operation reject before it reaches the
 * store (so the store changes nothing, as the port promises for a rejection).
 */
export interface StoreFaults {
  failNext(operation: StoreOperation, times?: number): void;
  /** Runs before each call of `operation` reaches the store. */
  before(operation: StoreOperation, hook: () => void | Promise<void>): void;
  readonly calls: Readonly<Record<string, number>>;
}

export function withStoreFaults(inner: BroadcastStore): { store: BroadcastStore; faults: StoreFaults } {
  const failures = new Map<StoreOperation, number>();
  const hooks = new Map<StoreOperation, () => void | Promise<void>>();
  const calls: Record<string, number> = {};
  const wrap =
    <K extends StoreOperation>(operation: K) =>
    async (...args: Parameters<BroadcastStore[K]>): Promise<Awaited<ReturnType<BroadcastStore[K]>>> => {
      calls[operation] = (calls[operation] ?? 0) + 1;
      await hooks.get(operation)?.();
      const left = failures.get(operation) ?? 0;
      if (left > 0) {
        failures.set(operation, left - 1);
        throw new Error(`injected ${operation} failure`);
      }
      const method = inner[operation] as (
        ...a: Parameters<BroadcastStore[K]>
      ) => ReturnType<BroadcastStore[K]>;
      return await method.apply(inner, args);
    };
  const store: BroadcastStore = {
    createBroadcast: wrap("createBroadcast"),
    appendRecipients: wrap("appendRecipients"),
    getBroadcast: wrap("getBroadcast"),
    listBroadcasts: wrap("listBroadcasts"),
    listRecipients: wrap("listRecipients"),
    updateBroadcast: wrap("updateBroadcast"),
    findDueScheduled: wrap("findDueScheduled"),
    claimRecipients: wrap("claimRecipients"),
    recordOutcomes: wrap("recordOutcomes"),
    renewLease: wrap("renewLease"),
    getActivity: wrap("getActivity"),
    resetFailedRecipients: wrap("resetFailedRecipients"),
    claimWebhookDeliveries: wrap("claimWebhookDeliveries"),
    recordWebhookDelivery: wrap("recordWebhookDelivery"),
    listWebhookDeliveries: wrap("listWebhookDeliveries"),
  };
  return {
    store,
    faults: {
      failNext: (operation, times = 1) => failures.set(operation, times),
      before: (operation, hook) => hooks.set(operation, hook),
      calls,
    },
  };
}

/** A queue whose next enqueues can be made to reject (nothing is queued then). */
export function withQueueFaults<Q extends JobQueue>(
  inner: Q,
): { queue: Q; failNextEnqueue(times?: number): void } {
  let failures = 0;
  const enqueue: JobQueue["enqueue"] = async (job, options) => {
    if (failures > 0) {
      failures--;
      throw new Error("injected enqueue failure");
    }
    return inner.enqueue(job, options);
  };
  const queue = new Proxy(inner, {
    get: (target, property, receiver) =>
      property === "enqueue" ? enqueue : Reflect.get(target, property, receiver),
  });
  return { queue, failNextEnqueue: (times = 1) => (failures = times) };
}

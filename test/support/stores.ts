import { createMemoryStore } from "broadcastkit/memory";
import type { BroadcastStore } from "../../src/ports/store.js";

/** A fresh, empty store for one test, and how to dispose of it. */
export interface StoreFactory {
  name: string;
  make(): Promise<{ store: BroadcastStore; close(): Promise<void> }>;
}

/** Every store the service-level tests run against; append an entry per adapter. */
export const storeFactories: StoreFactory[] = [
  { name: "memory", make: async () => ({ store: createMemoryStore(), close: async () => {} }) },
];

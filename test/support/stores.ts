import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryStore } from "broadcastkit/memory";
import { createSqliteStore } from "broadcastkit/sqlite";
import type { BroadcastStore } from "../../src/ports/store.js";
import { makePostgresStore } from "./postgres.js";

/** A fresh, empty store for one test, and how to dispose of it. */
export interface StoreFactory {
  name: string;
  make(): Promise<{ store: BroadcastStore; close(): Promise<void> }>;
}

/** Every store the service-level tests run against; append an entry per adapter. */
export const storeFactories: StoreFactory[] = [
  { name: "memory", make: async () => ({ store: createMemoryStore(), close: async () => {} }) },
  {
    name: "sqlite",
    make: async () => {
      const directory = mkdtempSync(join(tmpdir(), "bk-sqlite-"));
      const store = createSqliteStore({ filename: join(directory, "broadcasts.db") });
      return {
        store,
        close: async () => {
          await store.close();
          rmSync(directory, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "postgres",
    make: async () => {
      const { store, close } = await makePostgresStore();
      return { store, close };
    },
  },
];

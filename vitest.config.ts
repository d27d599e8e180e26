import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** `broadcastkit/*` resolves to the sources, so examples and docs read as a host writes them. */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^broadcastkit$/, replacement: source("./src/index.ts") },
      { find: /^broadcastkit\/memory$/, replacement: source("./src/adapters/memory/index.ts") },
      { find: /^broadcastkit\/testing$/, replacement: source("./src/testing/index.ts") },
      {
        find: /^broadcastkit\/testing\/conformance$/,
        replacement: source("./src/testing/conformance/index.ts"),
      },
      { find: /^broadcastkit\/http$/, replacement: source("./src/http/index.ts") },
      { find: /^broadcastkit\/sqlite$/, replacement: source("./src/adapters/sqlite/index.ts") },
      { find: /^broadcastkit\/postgres$/, replacement: source("./src/adapters/postgres/index.ts") },
      { find: /^broadcastkit\/telegram$/, replacement: source("./src/adapters/telegram/index.ts") },
      { find: /^broadcastkit\/bullmq$/, replacement: source("./src/adapters/bullmq/index.ts") },
      { find: /^broadcastkit\/otel$/, replacement: source("./src/adapters/otel/index.ts") },
      { find: /^broadcastkit\/webhooks$/, replacement: source("./src/adapters/webhooks/index.ts") },
      { find: /^broadcastkit\/dashboard$/, replacement: source("./src/dashboard/index.ts") },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Builds the dashboard's browser code into src/dashboard/assets.generated.ts (when it changed).
    globalSetup: ["test/support/dashboard-assets.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    isolate: false,
  },
});

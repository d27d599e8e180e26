import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    memory: "src/adapters/memory/index.ts",
    testing: "src/testing/index.ts",
    "testing-conformance": "src/testing/conformance/index.ts",
    http: "src/http/index.ts",
    sqlite: "src/adapters/sqlite/index.ts",
    postgres: "src/adapters/postgres/index.ts",
    telegram: "src/adapters/telegram/index.ts",
    bullmq: "src/adapters/bullmq/index.ts",
    otel: "src/adapters/otel/index.ts",
    webhooks: "src/adapters/webhooks/index.ts",
    dashboard: "src/dashboard/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  target: "node20",
  splitting: false,
  sourcemap: true,
  clean: true,
  external: [
    "better-sqlite3",
    "pg",
    "ioredis",
    "bullmq",
    "@opentelemetry/api",
    "grammy",
    "vitest",
    "fast-check",
  ],
});

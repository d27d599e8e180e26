/**
 * The cluster's HTTP process: the admin API on the shared PostgreSQL store. It sends nothing itself:
 * `send/` puts the broadcast's jobs on BullMQ, where the worker processes take them.
 * `npx tsx examples/cluster/admin.ts` (PORT, default 3000; 0 picks a free one). SIGTERM stops it.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type BroadcastService, createBroadcastService } from "broadcastkit";
import { type Authorize, createHttpHandler } from "broadcastkit/http";
import { ADMIN_TOKEN, consoleLogger, openQueue, openStore, PARALLELISM } from "./settings.js";

const logger = consoleLogger("admin");

const store = openStore();
// This process only enqueues: it never consumes, so it runs no worker and no scheduler tick.
const queue = openQueue();
const base = createBroadcastService({ store, queue, logger });

// The host decides how many workers share one broadcast, not the caller of the API: every start,
// resume and retry splits the broadcast into one send job per worker.
const service: BroadcastService = {
  ...base,
  start: (id) => base.start(id, { parallelism: PARALLELISM }),
  resume: (id) => base.resume(id, { parallelism: PARALLELISM }),
  retryFailed: (id, options) => base.retryFailed(id, { ...options, parallelism: PARALLELISM }),
};

// A demo's secret compared plainly; examples/http-server.ts shows the constant-time comparison.
const authorize: Authorize = (request) =>
  request.headers.get("authorization") === `Bearer ${ADMIN_TOKEN}` ? "allow" : "unauthenticated";

const server = serve(
  {
    fetch: createHttpHandler({ service, authorize, logger }),
    port: Number(process.env.PORT ?? 3000),
    hostname: "127.0.0.1",
  },
  (info: AddressInfo) =>
    console.log(`[admin] listening on http://127.0.0.1:${info.port}/api/admin/broadcasts/`),
);

process.once("SIGTERM", () => {
  server.close();
  if ("closeAllConnections" in server) server.closeAllConnections();
  void queue.close().then(() => store.close());
});

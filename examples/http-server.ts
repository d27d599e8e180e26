/**
 * The admin API on Node, on the embedded default store: `npx tsx examples/http-server.ts`.
 *
 *   ADMIN_TOKEN   bearer token the API accepts (default "dev-token")
 *   PORT          port to listen on (default 3000; 0 picks a free one)
 *   DATABASE_FILE SQLite file the broadcasts live in (default ./broadcasts.db; ":memory:" keeps nothing)
 *
 * Nothing reaches Telegram: a fake sender "delivers" every message, except to chat ids ending in 7,
 * which it reports as having blocked the bot, so there is something to see in progress and retry.
 * Ctrl-C (SIGINT) or SIGTERM stops it.
 */
import { timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createBroadcastKit, type Logger } from "broadcastkit";
import { type Authorize, createHttpHandler, localeFromAcceptLanguage } from "broadcastkit/http";
import { createFakeSender, createMemoryQueue } from "broadcastkit/memory";
import { createSqliteStore } from "broadcastkit/sqlite";

const token = process.env.ADMIN_TOKEN ?? "dev-token";
const port = Number(process.env.PORT ?? 3000);

const logger: Logger = {
  debug: () => {},
  info: (fields, message) => console.info(message ?? "", fields),
  warn: (fields, message) => console.warn(message ?? "", fields),
  error: (fields, message) => console.error(message ?? "", fields),
};

const store = createSqliteStore({ filename: process.env.DATABASE_FILE ?? "broadcasts.db" });
const sender = createFakeSender({
  record: false,
  respond: (message) =>
    String(message.chatId).endsWith("7")
      ? { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" }
      : { status: "delivered" },
});
// One composition root: the service, the worker and the scheduler share every port. autoRun: jobs
// run by themselves on real timers, as a worker process would take them. start() also picks up a
// broadcast a previous run of this process left sending.
const kit = createBroadcastKit({
  store,
  queue: createMemoryQueue({ autoRun: true }),
  sender,
  logger,
  scheduler: { intervalMs: 10_000 },
});
await kit.start();
const { service } = kit;

/** Compares in constant time, so response timing does not reveal how much of a guess was right. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const authorize: Authorize = (request) => {
  const header = request.headers.get("authorization");
  if (header === null || !header.startsWith("Bearer ")) return "unauthenticated";
  return sameSecret(header.slice("Bearer ".length), token) ? "allow" : "forbidden";
};

const handler = createHttpHandler({ service, authorize, locale: localeFromAcceptLanguage, logger });

const server = serve({ fetch: handler, port, hostname: "127.0.0.1" }, (info: AddressInfo) => {
  console.log(`broadcastkit admin API on http://127.0.0.1:${info.port}/api/admin/broadcasts/`);
  console.log(
    `try: curl -H 'Authorization: Bearer ${token}' http://127.0.0.1:${info.port}/api/admin/broadcasts/`,
  );
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  // Sends in flight finish and are written; unstarted recipients are released for the next start.
  await kit.stop();
  // Progress streams stay open until their broadcast ends; close them rather than wait.
  server.close();
  if ("closeAllConnections" in server) server.closeAllConnections();
  await store.close();
}

process.once("SIGINT", () => void shutdown("SIGINT"));
process.once("SIGTERM", () => void shutdown("SIGTERM"));

/**
 * `npm run demo:serve`: the dashboard and the admin API on the embedded SQLite store, sending
 * through the real Telegram sender to a simulated Telegram (round trips, pacing at 30/s, a failure
 * mix: see simulated-telegram.ts). A few broadcasts are created first, one of them sending, so
 * there is something to watch. Ctrl-C (SIGINT) or SIGTERM stops it.
 *
 *   PORT           port to listen on (default 3000; 0 picks a free one)
 *   ADMIN_PASSWORD password of the user "admin" (default "demo"); the browser asks for it
 *   DATABASE_FILE  SQLite file (default: a new temporary file, removed on exit)
 */
import { timingSafeEqual } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createBroadcastKit, formatBroadcastError, type NewRecipient } from "broadcastkit";
import { createDashboardHandler, localeFromAcceptLanguage } from "broadcastkit/dashboard";
import { type Authorize, createHttpHandler } from "broadcastkit/http";
import { createMemoryQueue } from "broadcastkit/memory";
import { createSqliteStore } from "broadcastkit/sqlite";
import { simulatedTelegram } from "./simulated-telegram.js";

const port = Number(process.env.PORT ?? 3000);
const password = process.env.ADMIN_PASSWORD ?? "demo";
const temporary =
  process.env.DATABASE_FILE === undefined ? mkdtempSync(join(tmpdir(), "broadcastkit-serve-")) : null;
const filename = process.env.DATABASE_FILE ?? join(temporary ?? ".", "broadcasts.db");

const store = createSqliteStore({ filename });
const kit = createBroadcastKit({
  store,
  queue: createMemoryQueue({ autoRun: true }),
  sender: simulatedTelegram().sender,
  // Transient failures come back after 2 s, 4 s, 8 s instead of the seed's minutes.
  worker: { retry: { baseDelayMs: 2_000 } },
  scheduler: { intervalMs: 5_000 },
});
await kit.start();
const { service } = kit;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** HTTP Basic, user "admin": the browser asks once and sends it with every request, the progress stream's too. */
const authorize: Authorize = (request) => {
  const header = request.headers.get("authorization");
  if (header === null || !header.startsWith("Basic ")) return "unauthenticated";
  const [user = "", given = ""] = Buffer.from(header.slice("Basic ".length), "base64")
    .toString("utf8")
    .split(":");
  return user === "admin" && sameSecret(given, password) ? "allow" : "unauthenticated";
};

const dashboard = createDashboardHandler({
  service,
  authorize,
  locale: localeFromAcceptLanguage,
  challenge: 'Basic realm="broadcastkit dashboard", charset="UTF-8"',
});
const api = createHttpHandler({ service, authorize, locale: localeFromAcceptLanguage });

const audience = (count: number, from: number): NewRecipient[] =>
  Array.from({ length: count }, (_, i) => ({
    recipientId: from + i,
    chatId: 500_000 + from + i,
    variables: { name: ["Ada", "Grace", "Linus", "Barbara", "Ken"][i % 5] ?? "friend" },
  }));

async function seed(): Promise<void> {
  const steps = [
    { text: "Hi {{name}}, your order has shipped.", recipients: audience(120, 1), start: true },
    {
      text: "Spring sale: 20 % off for you, {{name|friend}}!",
      recipients: audience(60, 1_000),
      start: false,
    },
    {
      text: "Maintenance tonight at 02:00 UTC.",
      recipients: audience(40, 2_000),
      start: false,
      scheduledAt: new Date(Date.now() + 3_600_000),
    },
    { text: "Weekly digest for {{name}}: 5 new articles.", recipients: audience(900, 3_000), start: true },
  ];
  for (const step of steps) {
    const created = await service.create({
      message: { text: step.text },
      recipients: step.recipients,
      ...(step.scheduledAt === undefined ? {} : { scheduledAt: step.scheduledAt }),
    });
    if (created.isErr()) throw new Error(formatBroadcastError(created.error));
    if (step.start) {
      const started = await service.start(created.value.id);
      if (started.isErr()) throw new Error(formatBroadcastError(started.error));
    }
  }
}
await seed();

const DASHBOARD = "/admin/broadcasts";
const server = serve(
  {
    fetch: (request) => {
      const { pathname } = new URL(request.url);
      if (pathname === "/") return Response.redirect(new URL(`${DASHBOARD}/`, request.url), 302);
      return pathname.startsWith("/api/admin/broadcasts") ? api(request) : dashboard(request);
    },
    port,
    hostname: "127.0.0.1",
  },
  (info: AddressInfo) => {
    console.log(`broadcastkit dashboard: http://127.0.0.1:${info.port}${DASHBOARD}/`);
    console.log(`  sign in as "admin" with password "${password}"`);
    console.log(`admin API:  http://127.0.0.1:${info.port}/api/admin/broadcasts/ (same credentials)`);
    console.log(`store: SQLite ${filename}; Telegram: simulated (100 ± 30 ms round trips, 30 messages/s)`);
  },
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  await kit.stop();
  server.close();
  if ("closeAllConnections" in server) server.closeAllConnections();
  await store.close();
  if (temporary !== null) rmSync(temporary, { recursive: true, force: true });
}
process.once("SIGINT", () => void shutdown("SIGINT"));
process.once("SIGTERM", () => void shutdown("SIGTERM"));

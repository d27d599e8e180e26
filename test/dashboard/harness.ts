import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { type BroadcastService, createBroadcastKit, type NewRecipient } from "broadcastkit";
import {
  createDashboardHandler,
  type DashboardOptions,
  localeFromAcceptLanguage,
} from "broadcastkit/dashboard";
import type { Authorize } from "broadcastkit/http";
import { createMemoryQueue } from "broadcastkit/memory";
import { createSqliteStore } from "broadcastkit/sqlite";
import type { FakeBotApi } from "broadcastkit/testing";
import { simulatedTelegram } from "../../examples/simulated-telegram.js";

export const BASE = "/admin/broadcasts";
export const SESSION_COOKIE = "bk_admin";
export const SESSION = "s3cret-session";

/** A cookie session, as a host with a login page would check it (the progress stream sends cookies too). */
export const cookieAuthorize: Authorize = (request) => {
  const cookies = request.headers.get("cookie") ?? "";
  const value = cookies
    .split(";")
    .map((part) => part.trim().split("="))
    .find(([name]) => name === SESSION_COOKIE)?.[1];
  if (value === undefined) return "unauthenticated";
  return value === SESSION ? "allow" : "forbidden";
};

export interface DashboardWorld {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** The dashboard's own URL: `{origin}/admin/broadcasts` (no trailing slash). */
  readonly url: string;
  readonly service: BroadcastService;
  /** The simulated Telegram behind the real Telegram sender; program answers per chat. */
  readonly telegram: FakeBotApi;
  create(text: string, recipients: number | readonly NewRecipient[]): Promise<number>;
  close(): Promise<void>;
}

export const audience = (count: number, firstChat = 700_000): NewRecipient[] =>
  Array.from({ length: count }, (_, i) => ({ recipientId: i + 1, chatId: firstChat + i + 1 }));

/**
 * The dashboard on 127.0.0.1 (a free port) over the real service on SQLite (a temporary file),
 * a memory queue that runs jobs by itself, and the real Telegram sender pacing at 30/s to a
 * simulated Telegram with a 20 ms round trip and the demo's failure mix.
 */
export async function startDashboardWorld(options: Partial<DashboardOptions> = {}): Promise<DashboardWorld> {
  const dir = mkdtempSync(join(tmpdir(), "broadcastkit-dashboard-"));
  const store = createSqliteStore({ filename: join(dir, "broadcasts.db") });
  const telegram = simulatedTelegram({ latency: 20 });
  const kit = createBroadcastKit({
    store,
    queue: createMemoryQueue({ autoRun: true }),
    sender: telegram.sender,
    worker: { retry: { baseDelayMs: 300 }, flushIntervalMs: 200 },
    scheduler: false,
  });
  await kit.start();
  const dashboard = createDashboardHandler({
    service: kit.service,
    authorize: cookieAuthorize,
    locale: localeFromAcceptLanguage,
    streamPollMs: 100,
    ...options,
  });
  const server = serve({ fetch: dashboard, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => {
    if (server.listening) resolve();
    else server.once("listening", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: `${origin}${BASE}`,
    service: kit.service,
    telegram: telegram.api,
    async create(text, recipients) {
      const list = typeof recipients === "number" ? audience(recipients) : recipients;
      const created = await kit.service.create({ message: { text }, recipients: list });
      return created._unsafeUnwrap().id;
    },
    async close() {
      server.close();
      if ("closeAllConnections" in server) server.closeAllConnections();
      await kit.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

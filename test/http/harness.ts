import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import {
  type BroadcastService,
  type BroadcastStore,
  createBroadcastService,
  createSendWorker,
  type NewRecipient,
  type SendResult,
} from "broadcastkit";
import { type Authorize, createHttpHandler, type HttpHandlerOptions } from "broadcastkit/http";
import {
  createFakeSender,
  createMemoryQueue,
  createMemoryStore,
  type MemoryQueue,
} from "broadcastkit/memory";
import { createManualClock, type ManualClock } from "broadcastkit/testing";

export const BASE = "/api/admin/broadcasts";
export const TOKEN = "test-token";
export const START = new Date("2024-12-27T10:00:00Z");

/** Bearer-token admin check, as a host would write it. */
export const bearerAuthorize: Authorize = (request) => {
  const header = request.headers.get("authorization");
  if (header === null) return "unauthenticated";
  return header === `Bearer ${TOKEN}` ? "allow" : "forbidden";
};

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body (`undefined` when it is not JSON); tests read it field by field. */
  // biome-ignore lint/suspicious/noExplicitAny: a response body is whatever the server sent
  readonly json: any;
}

export interface ApiOptions {
  readonly body?: unknown;
  /** Sent as is, not as JSON. */
  readonly rawBody?: string | Uint8Array<ArrayBuffer>;
  readonly headers?: Record<string, string>;
  /** Leave out the Authorization header. */
  readonly anonymous?: boolean;
}

export interface Harness {
  readonly url: string;
  readonly service: BroadcastService;
  readonly queue: MemoryQueue;
  readonly clock: ManualClock;
  /** How the fake sender answers a recipient (by default: delivered). */
  respondWith(answer: (recipientId: number | string) => SendResult): void;
  /** The text of every message the fake sender was given, in order. */
  sentTexts(): string[];
  api(method: string, path: string, options?: ApiOptions): Promise<ApiAnswer>;
  /**
   * Runs every queued job and every retry it schedules, moving the clock to each due time; with
   * `until`, leaves jobs due later than that waiting.
   */
  settle(until?: Date): Promise<void>;
  /** Creates a broadcast through the service (not through HTTP) and returns its id. */
  createBroadcast(recipients: number | readonly NewRecipient[], text?: string): Promise<number>;
  close(): Promise<void>;
}

export const recipientsFor = (count: number): NewRecipient[] =>
  Array.from({ length: count }, (_, i) => ({ recipientId: i + 1, chatId: 1000 + i + 1 }));

/**
 * A real HTTP server on 127.0.0.1 (random port) in front of the real service, the in-memory store
 * and queue, a fake sender and a manual clock. Jobs run only when a test calls `settle()`.
 */
export interface HarnessOptions {
  readonly handler?: Partial<Omit<HttpHandlerOptions, "authorize">>;
  /** The bearer-token check by default; `null`: none at all. */
  readonly authorize?: Authorize | null;
  /** Stands between the handler and the real service, to inject failures. */
  readonly wrapService?: (service: BroadcastService) => BroadcastService;
  /** The in-memory store by default; the caller closes one it passes. */
  readonly store?: BroadcastStore;
}

export async function startHarness({
  handler: handlerOptions = {},
  authorize = bearerAuthorize,
  wrapService,
  store = createMemoryStore(),
}: HarnessOptions = {}): Promise<Harness> {
  const clock = createManualClock(START);
  const queue = createMemoryQueue({ clock });
  let answer: (recipientId: number | string) => SendResult = () => ({ status: "delivered" });
  const sender = createFakeSender({ respond: (message) => answer(message.recipientId) });
  const service = createBroadcastService({ store, queue, clock });
  const worker = createSendWorker({ store, queue, sender, clock });
  queue.consume((job) => worker.handle(job));

  const handler = createHttpHandler({
    service: wrapService === undefined ? service : wrapService(service),
    ...(authorize === null ? {} : { authorize }),
    ...handlerOptions,
  });
  const server = serve({ fetch: handler, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => {
    if (server.listening) resolve();
    else server.once("listening", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    service,
    queue,
    clock,
    respondWith(next) {
      answer = next;
    },
    sentTexts: () => sender.calls.map((call) => call.text),
    async api(method, path, { body, rawBody, headers = {}, anonymous = false } = {}) {
      const init: RequestInit = {
        method,
        headers: {
          ...(anonymous ? {} : { authorization: `Bearer ${TOKEN}` }),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
      };
      if (body !== undefined) init.body = JSON.stringify(body);
      if (rawBody !== undefined) init.body = rawBody;
      const response = await fetch(`${url}${path}`, init);
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, json };
    },
    async settle(until) {
      for (let round = 0; round < 100; round++) {
        await queue.drain();
        const [next] = queue.pending();
        if (next === undefined || (until !== undefined && next.dueAt > until)) return;
        if (next.dueAt > clock.now()) clock.set(next.dueAt);
      }
      throw new Error("settle: jobs kept coming back after 100 rounds");
    },
    async createBroadcast(recipients, text = "Hello") {
      const list = typeof recipients === "number" ? recipientsFor(recipients) : recipients;
      const created = await service.create({ message: { text }, recipients: list });
      return created._unsafeUnwrap().id;
    },
    async close() {
      queue.close();
      server.close();
      if ("closeAllConnections" in server) server.closeAllConnections();
    },
  };
}

/** Everything the API can show of the state: compared before and after a refused request. */
export async function snapshot(service: BroadcastService): Promise<string> {
  const page = (await service.list({ limit: 1000 }))._unsafeUnwrap();
  const broadcasts = await Promise.all(
    page.items.map(async (b) => ({
      broadcast: (await service.get(b.id))._unsafeUnwrap(),
      recipients: (await service.listRecipients(b.id, { limit: 1000 }))._unsafeUnwrap().items,
    })),
  );
  return JSON.stringify(broadcasts);
}

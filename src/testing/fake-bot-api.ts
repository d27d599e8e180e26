import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { ChatId } from "../core/types.js";
import type { Clock } from "../ports/clock.js";

/**
 * One programmed answer of the fake Bot API. Build them with `botAnswers`.
 * - `ok`: `sendMessage` succeeds with the next message id;
 * - `error`: the Bot API's `{ ok: false, error_code, description, parameters }`;
 * - `raw`: any status and body (a proxy's HTML error page);
 * - `slow`: waits `delayMs` (on top of any `latency`), then answers `then` (for timeouts);
 * - `hangUp`: closes the connection without an answer (a network error).
 */
export type BotAnswer =
  | { readonly type: "ok" }
  | {
      readonly type: "error";
      readonly errorCode: number;
      readonly description: string;
      readonly parameters?: { readonly retry_after?: number; readonly migrate_to_chat_id?: number };
    }
  | { readonly type: "raw"; readonly status: number; readonly body: string; readonly contentType?: string }
  | { readonly type: "slow"; readonly delayMs: number; readonly then: BotAnswer }
  | { readonly type: "hangUp" };

/** Answers Telegram gives, as the fake gives them. */
export const botAnswers = {
  ok: (): BotAnswer => ({ type: "ok" }),
  tooManyRequests: (retryAfterSeconds: number): BotAnswer => ({
    type: "error",
    errorCode: 429,
    description: `Too Many Requests: retry after ${retryAfterSeconds}`,
    parameters: { retry_after: retryAfterSeconds },
  }),
  /** 403, e.g. "bot was blocked by the user", "user is deactivated", "bot can't initiate conversation with a user". */
  forbidden: (reason = "bot was blocked by the user"): BotAnswer => ({
    type: "error",
    errorCode: 403,
    description: `Forbidden: ${reason}`,
  }),
  /** 400, e.g. "chat not found", "can't parse entities: …", "message is too long". */
  badRequest: (reason = "chat not found"): BotAnswer => ({
    type: "error",
    errorCode: 400,
    description: `Bad Request: ${reason}`,
  }),
  migrated: (toChatId: number): BotAnswer => ({
    type: "error",
    errorCode: 400,
    description: "Bad Request: group chat was upgraded to a supergroup chat",
    parameters: { migrate_to_chat_id: toChatId },
  }),
  /** A 5xx; the description defaults to the code's reason phrase (502 "Bad Gateway", 503 "Service Unavailable", …). */
  serverError: (errorCode = 500, description = reasonPhrase(errorCode)): BotAnswer => ({
    type: "error",
    errorCode,
    description,
  }),
  unauthorized: (): BotAnswer => ({ type: "error", errorCode: 401, description: "Unauthorized" }),
  raw: (status: number, body: string, contentType = "text/html"): BotAnswer => ({
    type: "raw",
    status,
    body,
    contentType,
  }),
  slow: (delayMs: number, then: BotAnswer = { type: "ok" }): BotAnswer => ({ type: "slow", delayMs, then }),
  hangUp: (): BotAnswer => ({ type: "hangUp" }),
};

/** One call the fake received. */
export interface RecordedBotRequest {
  /** When it arrived (before its body was read), by the fake's clock; `latency` delays only the answer. */
  readonly at: Date;
  /** The Bot API method, e.g. `sendMessage`. */
  readonly method: string;
  /** `chat_id` as sent, or `undefined` when absent. */
  readonly chatId: ChatId | undefined;
  /** The parsed request body (JSON or form fields). */
  readonly body: Readonly<Record<string, unknown>>;
  /**
   * The HTTP status answered; `undefined` while the answer is pending (latency included), for a
   * hang-up, or when the client gave up first.
   */
  readonly status: number | undefined;
  /** `retry_after` of a 429 answer, in seconds. */
  readonly retryAfter?: number;
  readonly messageId?: number;
}

/**
 * The network's round trip, simulated: each answer is held back this long after the call arrived
 * (its arrival time stays the moment it reached the look-alike). A number is a fixed delay in ms;
 * `{ baseMs, jitterMs }` draws each delay uniformly from `baseMs ± jitterMs` (never below 0).
 */
export type FakeLatency = number | { readonly baseMs: number; readonly jitterMs: number };

export interface FakeBotApiOptions {
  /** Stamps `requests[].at`; default the system clock. A manual clock makes arrival times simulated. */
  readonly clock?: Clock;
  /** Holds every answer back by a simulated round trip; `slow` answers wait on top of it. Default none. */
  readonly latency?: FakeLatency;
  /** Draws the jitter of `latency`: a number in [0, 1), like `Math.random` (the default). Pass a seeded one for repeatable runs. */
  readonly random?: () => number;
  /**
   * How the look-alike waits out `latency` and `slow` answers: real timers by default. A test
   * that runs simulated time passes the same `sleep` as the sender's, so round trips take
   * simulated time. It may return early once `signal` aborts (the caller gave up).
   */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** When set, calls with another token get 401 Unauthorized, as Telegram answers them. */
  readonly token?: string;
  /** First message id given; later ones increase by one. Default 1. */
  readonly firstMessageId?: number;
}

export interface FakeBotApi {
  /** Listens on 127.0.0.1, on a free port. Pass `url` as a sender's `apiRoot`. */
  start(): Promise<{ url: string }>;
  /** Stops listening and drops open connections; slow answers still pending are abandoned. */
  close(): Promise<void>;
  /** `http://127.0.0.1:<port>` once started. */
  readonly url: string | undefined;
  /**
   * A `fetch` that serves calls in-process, without a socket (a sender's `fetch` option). With a
   * manual clock it makes simulated-time tests and benchmarks exact. Works without `start()`.
   */
  readonly fetch: typeof globalThis.fetch;
  /** Every call received, in arrival order (listed as it arrives, completed when answered). */
  readonly requests: readonly RecordedBotRequest[];
  /** The next calls to `chatId` get these answers, one each, in order; then the default. */
  answerChat(chatId: ChatId, ...answers: BotAnswer[]): FakeBotApi;
  /** Every call to `chatId` gets this answer (after any queued with `answerChat`). */
  answerChatAlways(chatId: ChatId, answer: BotAnswer): FakeBotApi;
  /** The next calls, whatever their chat, get these answers, one each (after chat-specific ones). */
  answerNext(...answers: BotAnswer[]): FakeBotApi;
  /** Forgets requests and programmed answers; message ids keep increasing. */
  reset(): void;
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

type Handled = { readonly type: "reply"; readonly reply: Reply } | { readonly type: "hangUp" };

const systemClock: Clock = { now: () => new Date() };
const MAX_MESSAGE_LENGTH = 4096;

/**
 * A Bot API look-alike for tests: `sendMessage` succeeds with increasing message ids unless an
 * answer was programmed for the chat or the call. Serves over HTTP (`start()`) or in-process
 * (`fetch`). Never reaches Telegram.
 */
export function createFakeBotApi(options: FakeBotApiOptions = {}): FakeBotApi {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const latencyMs = latencyOf(options.latency, random);
  const requests: RecordedBotRequest[] = [];
  const perChat = new Map<string, BotAnswer[]>();
  const perChatAlways = new Map<string, BotAnswer>();
  let perCall: BotAnswer[] = [];
  let nextMessageId = options.firstMessageId ?? 1;
  let server: Server | undefined;
  let url: string | undefined;
  const pendingTimers = new Set<ReturnType<typeof setTimeout>>();

  const chooseAnswer = (chatId: ChatId | undefined): BotAnswer | undefined => {
    const key = chatId === undefined ? undefined : String(chatId);
    const queued = key === undefined ? undefined : perChat.get(key);
    if (queued !== undefined && queued.length > 0) return queued.shift();
    if (key !== undefined && perChatAlways.has(key)) return perChatAlways.get(key);
    return perCall.shift();
  };

  const timerDelay = (ms: number, signal?: AbortSignal | null) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        pendingTimers.delete(timer);
        resolve();
      }, ms);
      pendingTimers.add(timer);
      signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        pendingTimers.delete(timer);
        reject(signal.reason);
      });
    });
  const givenSleep = options.sleep;
  /** Rejects once the client gave up, so its answer is not waited for any longer. */
  const delay = async (ms: number, signal?: AbortSignal | null) => {
    if (ms <= 0 && !signal?.aborted) return;
    if (givenSleep === undefined) return timerDelay(ms, signal);
    await givenSleep(ms, signal ?? undefined);
    if (signal?.aborted) throw signal.reason;
  };

  /** The whole Bot API of the fake: one call in, one reply (or a hang-up) out, a round trip later. */
  const handle = async (
    at: Date,
    path: string,
    body: Record<string, unknown>,
    signal?: AbortSignal | null,
  ): Promise<Handled> => {
    const match = /^\/bot([^/]+)\/([A-Za-z]+)\/?$/.exec(path);
    const method = match?.[2] ?? "";
    const chatId = chatIdOf(body.chat_id);
    // Listed on arrival, answered when the answer goes out: slow answers keep arrival order.
    const entry: Mutable<RecordedBotRequest> = { at, method, chatId, body, status: undefined };
    requests.push(entry);
    // Drawn in arrival order, so a seeded `random` gives the same round trips run after run.
    const roundTripMs = latencyMs();
    let outcome: Partial<RecordedBotRequest> = {};
    const record = (status: number | undefined, extra: Partial<RecordedBotRequest> = {}) => {
      outcome = { status, ...extra };
    };
    const handled = await answer(match, method, chatId, body, record, signal);
    await delay(roundTripMs, signal);
    Object.assign(entry, outcome);
    return handled;
  };

  /** What the call gets; `slow` answers wait here, before the round trip. */
  const answer = async (
    match: RegExpExecArray | null,
    method: string,
    chatId: ChatId | undefined,
    body: Record<string, unknown>,
    record: (status: number | undefined, extra?: Partial<RecordedBotRequest>) => void,
    signal?: AbortSignal | null,
  ): Promise<Handled> => {
    if (
      match === null ||
      (options.token !== undefined && decodeURIComponent(match[1] ?? "") !== options.token)
    ) {
      const answer = botAnswers.unauthorized();
      record(401);
      return { type: "reply", reply: replyOf(answer, 0) };
    }
    if (method !== "sendMessage") {
      record(404);
      return {
        type: "reply",
        reply: replyOf({ type: "error", errorCode: 404, description: "Not Found" }, 0),
      };
    }
    let given = chooseAnswer(chatId) ?? validationAnswer(body) ?? botAnswers.ok();
    while (given.type === "slow") {
      await delay(given.delayMs, signal);
      given = given.then;
    }
    if (given.type === "hangUp") {
      record(undefined);
      return { type: "hangUp" };
    }
    if (given.type === "ok") {
      const messageId = nextMessageId++;
      record(200, { messageId });
      return { type: "reply", reply: replyOf(given, messageId, chatId) };
    }
    if (given.type === "raw") {
      record(given.status);
      return { type: "reply", reply: replyOf(given, 0) };
    }
    const retryAfter = given.parameters?.retry_after;
    record(given.errorCode, retryAfter === undefined ? {} : { retryAfter });
    return { type: "reply", reply: replyOf(given, 0) };
  };

  const serveHttp = (request: IncomingMessage, response: ServerResponse) => {
    const at = clock.now();
    // A client that gave up (its timeout) closes the connection: stop waiting on its slow answer.
    const gone = new AbortController();
    response.on("close", () => {
      if (!response.writableFinished) gone.abort();
    });
    readBody(request)
      .then((raw) =>
        handle(at, new URL(request.url ?? "/", "http://fake").pathname, parseBody(raw, request), gone.signal),
      )
      .then((handled) => {
        if (handled.type === "hangUp") {
          request.socket.destroy();
          return;
        }
        response.writeHead(handled.reply.status, { "content-type": handled.reply.contentType });
        response.end(handled.reply.body);
      })
      .catch(() => {
        request.socket.destroy();
      });
  };

  const fakeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const at = clock.now();
    const request = new Request(input, init);
    const text = await request.text();
    const handled = await handle(
      at,
      new URL(request.url).pathname,
      parseBody(text, { headers: { "content-type": request.headers.get("content-type") ?? "" } }),
      init?.signal ?? null,
    );
    if (handled.type === "hangUp") {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("other side closed"), { code: "ECONNRESET" }),
      });
    }
    return new Response(handled.reply.body, {
      status: handled.reply.status,
      headers: { "content-type": handled.reply.contentType },
    });
  };

  const api: FakeBotApi = {
    async start() {
      if (url !== undefined) return { url };
      const listening = createServer(serveHttp);
      await new Promise<void>((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(0, "127.0.0.1", () => resolve());
      });
      server = listening;
      url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
      return { url };
    },
    async close() {
      for (const timer of pendingTimers) clearTimeout(timer);
      pendingTimers.clear();
      const closing = server;
      server = undefined;
      if (closing === undefined) return;
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
    get url() {
      return url;
    },
    fetch: fakeFetch as typeof globalThis.fetch,
    requests,
    answerChat(chatId, ...answers) {
      const key = String(chatId);
      perChat.set(key, [...(perChat.get(key) ?? []), ...answers]);
      return api;
    },
    answerChatAlways(chatId, answer) {
      perChatAlways.set(String(chatId), answer);
      return api;
    },
    answerNext(...answers) {
      perCall.push(...answers);
      return api;
    },
    reset() {
      requests.length = 0;
      perChat.clear();
      perChatAlways.clear();
      perCall = [];
    },
  };
  return api;
}

/**
 * A URL where nothing listens: a port the system just handed out and that was closed again.
 * Calls to it fail with "connection refused".
 */
export async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Each call's round trip, in ms. */
function latencyOf(latency: FakeLatency | undefined, random: () => number): () => number {
  if (latency === undefined) return () => 0;
  if (typeof latency === "number") return () => Math.max(0, latency);
  const { baseMs, jitterMs } = latency;
  return () => Math.max(0, baseMs + (2 * random() - 1) * jitterMs);
}

/** The standard reason phrase of an HTTP status ("Bad Gateway" for 502), or a generic one. */
function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? (status >= 500 ? "Server Error" : `HTTP ${status}`);
}

/** Telegram's own checks on the text, applied when no answer was programmed. */
function validationAnswer(body: Record<string, unknown>): BotAnswer | undefined {
  if (body.chat_id === undefined || body.chat_id === "") return botAnswers.badRequest("chat_id is empty");
  const text = typeof body.text === "string" ? body.text : "";
  if (text.trim() === "") return botAnswers.badRequest("message text is empty");
  if (text.length > MAX_MESSAGE_LENGTH) return botAnswers.badRequest("message is too long");
  return undefined;
}

function replyOf(answer: BotAnswer, messageId: number, chatId?: ChatId): Reply {
  const json = (status: number, payload: unknown): Reply => ({
    status,
    body: JSON.stringify(payload),
    contentType: "application/json",
  });
  switch (answer.type) {
    case "ok":
      return json(200, {
        ok: true,
        result: { message_id: messageId, date: 0, chat: { id: chatId ?? 0 }, text: "" },
      });
    case "error":
      return json(answer.errorCode, {
        ok: false,
        error_code: answer.errorCode,
        description: answer.description,
        ...(answer.parameters === undefined ? {} : { parameters: answer.parameters }),
      });
    case "raw":
      return { status: answer.status, body: answer.body, contentType: answer.contentType ?? "text/html" };
    case "slow":
    case "hangUp":
      throw new Error(`answer "${answer.type}" has no reply of its own`);
  }
}

function chatIdOf(value: unknown): ChatId | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string" || value === "") return undefined;
  return /^-?\d+$/.test(value) ? Number(value) : value;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** JSON, as the sender and grammY send it; form fields, as other clients may. */
function parseBody(
  raw: string,
  request: { headers: { "content-type"?: string | undefined } },
): Record<string, unknown> {
  const type = request.headers["content-type"] ?? "";
  if (type.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(raw));
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
